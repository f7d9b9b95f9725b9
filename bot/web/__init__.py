"""The HTTP entry point: the Starlette server, its routes, webhooks and the process lifecycle."""
