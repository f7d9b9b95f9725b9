"""Process configuration: settings, logging, metric objects."""
