"""contactbot: the running app and its domain services."""
