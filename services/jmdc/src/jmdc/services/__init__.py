"""Domain logic of JMDC."""
