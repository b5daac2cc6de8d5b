"""Domain logic of TAP."""
