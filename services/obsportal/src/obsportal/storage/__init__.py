"""SQL access of ObsPortal."""
