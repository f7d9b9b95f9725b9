"""Fetch a file someone shared in Slack: files.info through our WebClient, then the bytes with the bot token.

Without the token Slack answers a download with its HTML login page and status 200, so the
content is checked, not just the status. The size limit is enforced before and during download.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import httpx
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain.csv_format import FileProblem
from bot.domain.uploads import limit_text

log = logging.getLogger(__name__)
SLACK_FILE_HOSTS = (".slack.com", ".slack-edge.com", ".slack-files.com")
CSV_TYPES = frozenset({"csv", "tsv", "text"})
CSV_SUFFIXES = (".csv", ".tsv", ".txt")


@dataclass(frozen=True)
class SharedFile:
    id: str
    name: str
    size: int
    filetype: str
    mimetype: str
    url: str

    @classmethod
    def from_api(cls, info: dict[str, Any]) -> SharedFile:
        return cls(
            id=str(info.get("id", "")),
            name=str(info.get("name") or info.get("title") or "file"),
            size=int(info.get("size") or 0),
            filetype=str(info.get("filetype") or ""),
            mimetype=str(info.get("mimetype") or ""),
            url=str(info.get("url_private_download") or ""),
        )

    def looks_like_csv(self) -> bool:
        return self.filetype in CSV_TYPES or self.name.lower().endswith(CSV_SUFFIXES) or "csv" in self.mimetype


def file_info(client: WebClient, file_id: str) -> SharedFile:
    try:
        return SharedFile.from_api(client.files_info(file=file_id)["file"])
    except SlackApiError as exc:
        raise FileProblem("import.error.download", detail=str(exc.response.get("error", "files.info"))) from None


def _origin(url: str) -> tuple[str, str, int] | None:
    try:
        parts = urlparse(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.username or parts.password:
        return None
    return parts.scheme, parts.hostname.lower(), port or (443 if parts.scheme == "https" else 80)


def _trusted(url: str, api_url: str) -> bool:
    """The bot token goes only to Slack's file hosts over HTTPS on 443, or to exactly the scheme, host
    and port SLACK_API_URL names (the fake, in tests): another port or plain http is not Slack."""
    target = _origin(url)
    if target is None:
        return False
    if target == _origin(api_url):
        return True
    scheme, host, port = target
    return scheme == "https" and port == 443 and host.endswith(SLACK_FILE_HOSTS)


def download(shared: SharedFile, token: str, api_url: str, max_bytes: int, suffix: str = ".csv") -> str:
    """Stream the file into a temp file (deleted by the caller); FileProblem for anything wrong."""
    if shared.size > max_bytes:
        raise FileProblem("import.error.too_big", limit=limit_text(max_bytes))
    if not shared.url or not _trusted(shared.url, api_url):
        raise FileProblem("import.error.download", detail="no download URL")
    fd, path = tempfile.mkstemp(prefix="contactbot-file-", suffix=suffix)
    try:
        with (
            os.fdopen(fd, "wb") as out,
            httpx.stream(
                "GET", shared.url, headers={"Authorization": f"Bearer {token}"}, timeout=60, follow_redirects=True
            ) as response,
        ):
            if response.status_code != 200:
                raise FileProblem("import.error.download", detail=f"HTTP {response.status_code}")
            if "text/html" in response.headers.get("content-type", ""):
                raise FileProblem("import.error.html")
            received = 0
            for chunk in response.iter_bytes(1024 * 1024):
                received += len(chunk)
                if received > max_bytes:
                    raise FileProblem("import.error.too_big", limit=limit_text(max_bytes))
                out.write(chunk)
    except httpx.HTTPError as exc:
        os.unlink(path)
        raise FileProblem("import.error.download", detail=type(exc).__name__) from None
    except BaseException:
        os.unlink(path)
        raise
    log.info("downloaded file %s (%s bytes)", shared.id, received)
    return path
