"""Upload limits in words: the same size text for Slack messages and the CLI."""

from __future__ import annotations


def limit_text(max_bytes: int) -> str:
    return f"{max_bytes / (1024 * 1024):.0f} MB" if max_bytes >= 1024 * 1024 else f"{max_bytes} B"
