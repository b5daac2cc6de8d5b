"""SQL access of OiDB."""
