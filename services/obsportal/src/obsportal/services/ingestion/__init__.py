"""Ingestion of ESO VLTI headers: sources -> card reader -> rules -> extraction -> storage.

``run.ingest`` drives a run; ``sources`` (folders, tars, FITS files), ``synthetic`` and
``eso`` provide headers; ``rules`` and ``modes`` hold the per-instrument tables.
"""
