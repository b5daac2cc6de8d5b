"""Alembic environment shared by every service; each service brings only its versions folder."""
