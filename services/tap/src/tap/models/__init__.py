"""Pydantic API schemas of TAP."""
