"""Domain logic of ObsPortal."""
