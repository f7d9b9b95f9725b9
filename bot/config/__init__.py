"""Process configuration: settings and logging."""
