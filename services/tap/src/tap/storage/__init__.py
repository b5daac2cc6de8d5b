"""SQL access of TAP."""
