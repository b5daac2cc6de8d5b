"""Domain logic of OiDB."""
