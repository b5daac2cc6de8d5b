"""Development and test tooling; never installed in service images."""
