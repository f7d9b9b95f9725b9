"""A template's media header from a Slack file: files.info, the bytes with the bot token, one upload to WhatsApp.

A Slack file's private URL answers only with `Authorization: Bearer <bot token>` (without it, Slack's
HTML login page with status 200), so the file is fetched here, where the token is
(`handlers/clients/files.py`), and uploaded once to `/{phone-number-id}/media`; every send then names
it by the media id Meta returned. The file is checked against what WhatsApp takes as a header of that
kind (`bot/whatsapp/media.py`) before it is downloaded.

A composer value names a Slack file as `slack:F…` (a file picked in the modal's file input), or as the
file's id or its Slack link (a file shared in a channel, its "Copy link").
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from slack_sdk import WebClient

from bot.config.settings import Settings
from bot.domain.csv_format import FileProblem
from bot.services.broadcasts import service
from bot.whatsapp.media import HEADER_MEDIA, allowed, header_problem, limit_mb
from handlers.clients.files import download, file_info

SLACK_REF = "slack:"
FILE_ID = re.compile(r"^F[A-Z0-9]{6,}$")
# https://<workspace>.slack.com/files/<user id>/<file id>/<name>: a file's "Copy link"
PERMALINK = re.compile(r"^https://[A-Za-z0-9.-]+\.slack\.com/files/[A-Z0-9]+/(F[A-Z0-9]{6,})(?:/|$)")


def slack_file_id(value: str) -> str | None:
    """The Slack file a header value names, or None (a media id or a public link is used as it is)."""
    value = value.strip()
    if value.startswith(SLACK_REF) and FILE_ID.match(value[len(SLACK_REF) :]):
        return value[len(SLACK_REF) :]
    if FILE_ID.match(value):
        return value
    found = PERMALINK.match(value)
    return found.group(1) if found else None


class MediaRefused(ValueError):
    """The file cannot be a header: `code` is an i18n key, `values` fill it."""

    def __init__(self, code: str, /, **values: object) -> None:
        super().__init__(code)
        self.code, self.values = code, values


def upload_slack_file(client: WebClient, settings: Settings, file_id: str, kind: str) -> str:
    """The WhatsApp media id of this Slack file, uploaded once as a `kind` header (image, video, document)."""
    try:
        shared = file_info(client, file_id)
    except FileProblem as exc:
        raise MediaRefused("broadcast.error.slack_file", detail=exc.values.get("detail") or "files.info") from None
    problem = header_problem(kind, shared.mimetype, shared.size)
    if problem:
        raise MediaRefused(
            f"broadcast.error.media_{problem}", kind=kind, types=allowed(kind), limit=limit_mb(kind), name=shared.name
        )
    token, api_url, limit = settings.slack_bot_token, settings.slack_api_url, HEADER_MEDIA[kind][1]
    try:
        path = download(shared, token, api_url, limit, suffix=Path(shared.name).suffix)
    except FileProblem as exc:  # e.g. Slack's login page instead of the file (`html`), or a download error
        detail = exc.values.get("detail") or exc.code.rsplit(".", 1)[-1]
        raise MediaRefused("broadcast.error.slack_file", detail=detail) from None
    try:
        content = Path(path).read_bytes()
    finally:
        os.unlink(path)
    return service.upload_header_file(settings, content, shared.mimetype.split(";")[0].strip(), shared.name)
