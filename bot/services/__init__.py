"""Use cases: plain Python, no Slack types; each owns its transaction and calls storage."""
