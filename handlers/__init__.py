"""Slack: the Bolt app (`handlers.app`), listeners per surface, Block Kit builders, screens and Web API clients."""
