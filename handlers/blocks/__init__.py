"""Block Kit builders: pure functions from data to Slack JSON, tested without Slack."""
