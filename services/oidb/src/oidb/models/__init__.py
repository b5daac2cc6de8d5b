"""Pydantic API schemas of OiDB."""
