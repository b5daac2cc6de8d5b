"""SQL access of JMDC."""
