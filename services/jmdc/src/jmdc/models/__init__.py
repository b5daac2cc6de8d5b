"""Pydantic API schemas of JMDC."""
