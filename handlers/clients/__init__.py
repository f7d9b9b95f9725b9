"""Slack Web API clients: file downloads, user locale, the audit channel feed, the live broadcast report."""
