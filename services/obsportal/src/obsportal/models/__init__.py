"""Pydantic API schemas of ObsPortal."""
