"""A loopback fake of the Slack Web API (and response_urls, and file downloads) that records calls.

Like Slack, it refuses a Block Kit payload that breaks Slack's limits or schema (tests/blockkit.py), answers with
the error Slack answers, and remembers the refusal in `invalid`, so that a test fails on it (tests/conftest.py).

It is as strict as Slack in the rest, too (issue 16), each rule with its source:
- a `trigger_id` works once and for 3 s after the request that carried it (`issue_trigger`, `check_trigger`);
- rate tiers: chat.update (Tier 3), chat.postMessage (per channel), views.publish (Tier 4) answer 429 with
  Retry-After above their rate (`RATES`);
- chat.postMessage / chat.postEphemeral into a channel without the bot answer `not_in_channel` (`members`);
- a response_url takes 5 posts within 30 minutes (`check_response_url`);
- files.info answers what `file_infos` holds (Slack Connect channels send a stub that needs it);
- a file download (url_private) without the bot token gets the HTML login page, status 200, like Slack.
- uploads go the way of files_upload_v2 and no other (`check_upload`): files.getUploadURLExternal needs `filename`
  and a `length` above 0 (`alt_txt` at most 1,000 characters), the bytes are POSTed to the URL it issued,
  files.completeUploadExternal names only files whose bytes arrived, at most once; the bytes are kept in `uploads`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import yaml

from tests import blockkit

MESSAGE_METHODS = ("chat.postMessage", "chat.postEphemeral", "chat.update", "response_url")
VIEW_METHODS = ("views.open", "views.update", "views.push", "views.publish")
# The bot scopes manifest.yml asks for: what an installed app's token carries.
MANIFEST_BOT_SCOPES = tuple(
    yaml.safe_load((Path(__file__).resolve().parents[2] / "manifest.yml").read_text())["oauth_config"]["scopes"]["bot"]
)

# "trigger_id ... expires in three seconds", "a trigger_id can only be used once"
# (https://docs.slack.dev/interactivity/handling-user-interaction#modal_responses); views.open answers
# `expired_trigger_id`, `exchanged_trigger_id`, `invalid_trigger_id` (https://docs.slack.dev/reference/methods/views.open).
TRIGGER_SECONDS = 3.0
TRIGGER_METHODS = ("views.open", "views.push")
# A response_url "can be used up to 5 times within 30 minutes"
# (https://docs.slack.dev/interactivity/handling-user-interaction#message_responses); after that it answers 404
# `used_url` / `expired_url` (slack_sdk's WebhookClient reports both as a non-200 answer).
RESPONSE_URL_USES = 5
RESPONSE_URL_SECONDS = 30 * 60
# Rate tiers (https://docs.slack.dev/apis/web-api/rate-limits): Tier 3 = 50+ per minute, Tier 4 = 100+ per minute,
# per method per workspace; chat.postMessage "will generally allow an app to post 1 message per second to a
# specific channel" with some burst (https://docs.slack.dev/reference/methods/chat.postMessage#rate_limiting).
# A token bucket per key: (capacity = the burst, refill per second); excess gets 429 + Retry-After.
RATES: dict[str, tuple[float, float]] = {
    "chat.update": (50.0, 50 / 60),  # Tier 3, per workspace
    "chat.postMessage": (5.0, 1.0),  # per channel: 1/s after a small burst
    "views.publish": (100.0, 100 / 60),  # Tier 4, per workspace
    # files.getUploadURLExternal and files.completeUploadExternal are Tier 4, files.delete Tier 3
    # (https://docs.slack.dev/reference/methods/files.getUploadURLExternal,
    # https://docs.slack.dev/reference/methods/files.completeUploadExternal,
    # https://docs.slack.dev/reference/methods/files.delete).
    "files.getUploadURLExternal": (100.0, 100 / 60),
    "files.completeUploadExternal": (100.0, 100 / 60),
    "files.delete": (50.0, 50 / 60),
}
LOGIN_PAGE = b"<!DOCTYPE html><html><head><title>Slack</title></head><body>Sign in to Slack</body></html>"
ALT_TXT_MAX = 1000  # files.getUploadURLExternal: `alt_txt_too_large` above 1,000 characters
# Channels a bot can always post to without being a member: DMs/IMs ("D...") and user ids (a DM is opened).


@dataclass
class Call:
    method: str  # Web API method (`chat.postMessage`), `response_url`, or `download`
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    raw: bytes = b""


Responder = Callable[[Call], tuple[int, dict[str, str], bytes] | dict[str, Any]]


@dataclass
class Upload:
    """A file on its way through files_upload_v2, and after: what the app declared, the bytes, where it went."""

    file_id: str
    filename: str
    length: int
    alt_txt: str = ""
    data: bytes | None = None  # None until the bytes were POSTed to the upload URL
    completed: bool = False
    title: str = ""
    channel_id: str | None = None
    thread_ts: str | None = None
    deleted: bool = False


@dataclass
class FakeSlack:
    server: ThreadingHTTPServer
    calls: list[Call] = field(default_factory=list)
    responders: dict[str, Responder] = field(default_factory=dict)
    locales: dict[str, str] = field(default_factory=dict)
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    invalid: list[tuple[str, list[str]]] = field(default_factory=list)  # (method, why Slack refused it)
    members: set[str] = field(default_factory=lambda: {"C111"})  # channels the bot is in (C111: the test channel)
    file_infos: dict[str, dict[str, Any]] = field(default_factory=dict)  # files.info answers, by file id
    triggers: dict[str, float] = field(default_factory=dict)  # trigger_id -> when the request carried it
    used_triggers: set[str] = field(default_factory=set)
    trigger_refusals: list[tuple[str, str]] = field(default_factory=list)  # (method, error) for tests to assert
    url_uses: dict[str, list[float]] = field(default_factory=dict)  # response_url path -> when it was posted to
    url_issued: dict[str, float] = field(default_factory=dict)  # response_url path -> when Slack handed it out
    buckets: dict[str, tuple[float, float]] = field(default_factory=dict)  # rate key -> (tokens, at)
    rate_limited: list[str] = field(default_factory=list)  # rate keys that got a 429
    frozen: float | None = None
    skew: float = 0.0  # seconds added to the fake's clock (a test moves time forward with `advance`)
    _ids: Any = field(default_factory=lambda: count(1))
    # The bot token's scopes, sent like Slack in the `x-oauth-scopes` header of every Web API answer (the only way
    # to read a token's scopes: https://github.com/slack-ruby/slack-ruby-client/issues/378); manifest.yml's by default.
    scopes: list[str] = field(default_factory=lambda: list(MANIFEST_BOT_SCOPES))
    refused_tokens: set[str] = field(default_factory=set)  # auth.test and every call: `invalid_auth`
    missing_users: set[str] = field(default_factory=set)  # users.info: `user_not_found`
    anonymous_downloads: list[str] = field(default_factory=list)  # file downloads without the bot token
    uploads: dict[str, Upload] = field(default_factory=dict)  # file id -> the upload (files_upload_v2)

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/"

    def response_url(self, name: str = "r1") -> str:
        with self.lock:
            self.url_issued.setdefault(f"/response/{name}", self.now())
        return f"{self.base}/response/{name}"

    def now(self) -> float:
        return (self.frozen if self.frozen is not None else time.monotonic()) + self.skew

    def freeze(self) -> None:
        """Stop the fake's clock (only `advance` moves it): a test of a rate or an expiry measures no real time."""
        with self.lock:
            self.frozen = time.monotonic()

    def advance(self, seconds: float) -> None:
        """Move the fake's clock forward (trigger and response_url expiry, rate buckets), instead of sleeping."""
        with self.lock:
            self.skew += seconds

    def issue_trigger(self) -> str:
        """A fresh trigger_id, as Slack puts one in each interactive request; valid from now for 3 s, once."""
        with self.lock:
            trigger = f"{next(self._ids)}.{int(time.time())}.{id(self) % 100000:05d}"
            self.triggers[trigger] = self.now()
        return trigger

    def check_trigger(self, call: Call) -> str | None:
        """The error views.open/views.push answer for this call's trigger_id, or None (and the trigger is spent)."""
        trigger = str(call.body.get("trigger_id") or "")
        if call.method not in TRIGGER_METHODS:
            return None
        with self.lock:
            issued = self.triggers.get(trigger)
            if issued is None:
                error = "invalid_trigger_id"
            elif trigger in self.used_triggers:
                error = "exchanged_trigger_id"
            elif self.now() - issued > TRIGGER_SECONDS:
                error = "expired_trigger_id"
            else:
                return None  # spent by `spend_trigger` once the call succeeds (a 429 does not use it up)
            self.trigger_refusals.append((call.method, error))
        return error

    def spend_trigger(self, call: Call, status: int, payload: bytes) -> None:
        """A views.open/push that Slack took has used its trigger_id up."""
        if call.method not in TRIGGER_METHODS or status != 200:
            return
        try:
            ok = json.loads(payload).get("ok") is True
        except ValueError:
            ok = False
        if ok:
            with self.lock:
                self.used_triggers.add(str(call.body.get("trigger_id") or ""))

    def check_response_url(self, call: Call) -> str | None:
        """`used_url` after 5 posts, `expired_url` 30 minutes after Slack handed the URL out; None when it takes it."""
        with self.lock:
            now = self.now()
            issued = self.url_issued.setdefault(call.path, now)
            uses = self.url_uses.setdefault(call.path, [])
            if now - issued > RESPONSE_URL_SECONDS:
                return "expired_url"
            if len(uses) >= RESPONSE_URL_USES:
                return "used_url"
            uses.append(now)
        return None

    def check_rate(self, call: Call) -> float | None:
        """Seconds to wait (Retry-After) when this call is over its rate tier, else None (and a token is spent)."""
        if call.method not in RATES:
            return None
        capacity, per_second = RATES[call.method]
        key = call.method + (f":{call.body.get('channel', '')}" if call.method == "chat.postMessage" else "")
        with self.lock:
            now = self.now()
            tokens, at = self.buckets.get(key, (capacity, now))
            tokens = min(capacity, tokens + (now - at) * per_second)
            if tokens < 1:
                self.buckets[key] = (tokens, now)
                self.rate_limited.append(key)
                return (1 - tokens) / per_second
            self.buckets[key] = (tokens - 1, now)
        return None

    def completed_uploads(self) -> list[Upload]:
        with self.lock:
            return [u for u in self.uploads.values() if u.completed]

    def check_upload(self, call: Call) -> tuple[int, dict[str, str], bytes] | None:
        """Slack's answer to a step of the upload flow that it would refuse, or None (the step is recorded).

        https://docs.slack.dev/reference/methods/files.getUploadURLExternal: `filename` and `length` are required
        (`missing_argument`, "typically only occurs when the length provided is 0"), `alt_txt_too_large` above
        1,000 characters; the bytes go to the returned `upload_url` (HTTP 200 when taken);
        https://docs.slack.dev/reference/methods/files.completeUploadExternal: `files` (required) names the file
        ids to finish; `thread_ts` goes with one channel (`channel_id`). A file id never issued, whose bytes never
        arrived, or already finished is refused as Slack refuses a file it does not have (`file_not_found`);
        sharing into a channel without the bot is `not_in_channel`, as for chat.postMessage.
        """
        method = call.method
        if method == "files.getUploadURLExternal":
            try:
                length = int(call.body.get("length") or 0)
            except (TypeError, ValueError):
                length = 0
            if not str(call.body.get("filename") or "") or length <= 0:
                return _json({"ok": False, "error": "missing_argument"})
            if len(str(call.body.get("alt_txt") or "")) > ALT_TXT_MAX:
                return _json({"ok": False, "error": "alt_txt_too_large"})
            return None
        if method == "upload":
            file_id = call.path.rsplit("/", 1)[-1]
            with self.lock:
                upload = self.uploads.get(file_id)
                if upload is None or upload.data is not None:
                    return 404, {"Content-Type": "text/plain"}, b"not found"
                upload.data = call.raw
            return 200, {"Content-Type": "text/plain"}, b"OK - " + str(len(call.raw)).encode()
        if method == "files.completeUploadExternal":
            try:
                files = call.body.get("files", "[]")
                items = json.loads(files) if isinstance(files, str) else files
                ids = [str(item["id"]) for item in items]
            except (ValueError, TypeError, KeyError):
                return _json({"ok": False, "error": "invalid_arguments"})
            channel = str(call.body.get("channel_id") or "")
            if not ids:
                return _json({"ok": False, "error": "invalid_arguments"})
            if call.body.get("thread_ts") and not channel:
                return _json({"ok": False, "error": "invalid_arguments"})
            if channel[:1] in ("C", "G") and channel not in self.members:
                return _json({"ok": False, "error": "not_in_channel"})
            with self.lock:
                found = [self.uploads.get(i) for i in ids]
                if any(u is None or u.data is None or u.completed for u in found):
                    return _json({"ok": False, "error": "file_not_found"})
                titles = {str(item["id"]): str(item.get("title") or "") for item in items}
                for u in found:
                    assert u is not None
                    u.completed, u.title = True, titles[u.file_id]
                    u.channel_id, u.thread_ts = channel or None, call.body.get("thread_ts") or None
            return None
        if method == "files.delete":  # https://docs.slack.dev/reference/methods/files.delete: `file_not_found`
            with self.lock:
                upload = self.uploads.get(str(call.body.get("file") or ""))
                if upload is None or not upload.completed or upload.deleted:
                    return _json({"ok": False, "error": "file_not_found"})
                upload.deleted = True
            return None
        return None

    def not_in_channel(self, call: Call) -> bool:
        """Slack refuses chat.postMessage/postEphemeral into a channel the bot is not a member of
        (https://docs.slack.dev/reference/methods/chat.postEphemeral#errors: `not_in_channel`); DMs and user ids are
        always fine (chat:write.public is not in our manifest)."""
        if call.method not in ("chat.postMessage", "chat.postEphemeral"):
            return False
        channel = str(call.body.get("channel", ""))
        return channel[:1] in ("C", "G") and channel not in self.members

    def of(self, method: str) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.method == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 60.0) -> list[Call]:  # a hang guard
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.of(method)
            if len(found) >= count:
                return found
            time.sleep(0.01)
        raise AssertionError(
            f"expected {count} call(s) of {method}, got {len(self.of(method))}: {[c.method for c in self.calls]}"
        )

    def clear(self) -> None:
        with self.lock:
            self.calls.clear()

    def refusal(self, call: Call) -> tuple[int, dict[str, str], bytes] | None:
        """Slack's answer to a Block Kit payload it would not take, or None when the payload is fine.

        chat.* answer `invalid_blocks` with the reasons in `errors` and `response_metadata.messages` (a
        chat.postMessage reply quoted in https://github.com/slackapi/java-slack-sdk/issues/1017), or
        `msg_blocks_too_long` when the blocks' text is too long in total
        (https://github.com/slackapi/bolt-js/issues/2509).
        views.* answer `invalid_arguments` with `response_metadata.messages` ("[ERROR] ... [json-pointer:/view/...]",
        https://github.com/slackapi/bolt-js/issues/1351, https://github.com/imryche/blockkit/issues/105), and
        `view_too_large` above 250 kB (https://docs.slack.dev/reference/methods/views.open).
        A response_url answers HTTP 400 with the bare text `invalid_blocks`
        (https://github.com/slackapi/java-slack-sdk/issues/1017, a 400 `invalid_blocks` from a webhook-style URL).
        """
        error, problems = "", []
        if call.method in MESSAGE_METHODS and call.body.get("blocks") not in (None, "", []):
            blocks = call.body["blocks"]
            problems = blockkit.block_problems(blocks, "message")
            error = "invalid_blocks"
            if not problems and blockkit.message_too_long(blocks):
                error, problems = "msg_blocks_too_long", [f"text across the blocks > {blockkit.MAX_MESSAGE_TEXT}"]
        elif call.method in VIEW_METHODS:
            view = call.body.get("view")
            problems = blockkit.view_problems(view)
            error = "invalid_arguments"
            if not problems and blockkit.view_too_large(view):  # type: ignore[arg-type]
                error, problems = "view_too_large", [f"view > {blockkit.MAX_VIEW_BYTES} bytes"]
        if not problems:
            return None
        with self.lock:
            self.invalid.append((call.method, problems))
        if call.method == "response_url":
            return 400, {"Content-Type": "text/plain"}, error.encode()
        messages = [f"[ERROR] {p}" for p in problems]
        body = {"ok": False, "error": error, "errors": problems, "response_metadata": {"messages": messages}}
        return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()

    def answer(self, call: Call) -> tuple[int, dict[str, str], bytes]:
        refused = self.refusal(call)
        if refused is not None:
            return refused
        if call.method == "response_url" and (gone := self.check_response_url(call)):
            return 404, {"Content-Type": "text/plain"}, gone.encode()
        if (wait := self.check_rate(call)) is not None:
            retry = str(max(1, int(wait + 0.999)))
            body = json.dumps({"ok": False, "error": "ratelimited"}).encode()
            return 429, {"Content-Type": "application/json", "Retry-After": retry}, body
        error = self.check_trigger(call) or ("not_in_channel" if self.not_in_channel(call) else None)
        if error:
            return 200, {"Content-Type": "application/json"}, json.dumps({"ok": False, "error": error}).encode()
        if (refused_upload := self.check_upload(call)) is not None:
            return refused_upload
        if call.method in self.responders:
            result = self.responders[call.method](call)
            if isinstance(result, tuple):
                return result
            return 200, {"Content-Type": "application/json"}, json.dumps(result).encode()
        if call.method == "download":
            # A file's url_private needs the bot token; without it Slack answers its HTML login page with status 200
            # (https://docs.slack.dev/messaging/working-with-files#authenticating: "requires an Authorization
            # header ... Bearer <token>").
            token = call.headers.get("authorization", "").removeprefix("Bearer ")
            if not token.startswith("xoxb-") or token in self.refused_tokens:
                self.anonymous_downloads.append(call.path)
                return 200, {"Content-Type": "text/html; charset=utf-8"}, LOGIN_PAGE
            name = call.path.split("/files/", 1)[1]
            if name in self.files:
                data, ctype = self.files[name]
                return 200, {"Content-Type": ctype}, data
            return 404, {"Content-Type": "text/plain"}, b"not found"
        body: dict[str, Any] = {"ok": True}
        token = call.headers.get("authorization", "").removeprefix("Bearer ")
        if token and token in self.refused_tokens:
            return _json({"ok": False, "error": "invalid_auth"})
        if call.method == "apps.connections.open":
            # Only an app-level token (xapp-, scope connections:write) may open a Socket Mode connection; a bot
            # token gets `not_allowed_token_type` (https://docs.slack.dev/reference/methods/apps.connections.open).
            if not token.startswith("xapp-"):
                return _json({"ok": False, "error": "not_allowed_token_type"})
            return _json({"ok": True, "url": f"wss://wss-primary.slack.com/link/?ticket={len(self.calls)}"})
        if call.method == "users.info" and str(call.body.get("user", "")) in self.missing_users:
            return _json(
                {"ok": False, "error": "user_not_found"}
            )  # https://docs.slack.dev/reference/methods/users.info
        if call.method == "auth.test":
            body |= {"user_id": "UBOT", "team_id": "T111", "bot_id": "B111", "user": "contactbot"}
        elif call.method == "users.info":
            user = str(call.body.get("user", ""))
            body["user"] = {"id": user, "locale": self.locales.get(user, "de-DE")}
        elif call.method in ("chat.postMessage", "chat.update", "chat.postEphemeral"):
            body |= {"channel": call.body.get("channel", "C1"), "ts": f"{time.time():.6f}"}
        elif call.method == "views.open":
            body["view"] = {"id": "V1", "hash": f"{int(time.time())}.{len(self.calls)}"}
        elif call.method == "files.info":
            info = self.file_infos.get(str(call.body.get("file", "")))
            if info is None:
                return 200, {"Content-Type": "application/json"}, b'{"ok": false, "error": "file_not_found"}'
            body["file"] = info
        elif call.method == "conversations.open":
            body["channel"] = {"id": "D" + str(call.body.get("users", "U0")).split(",")[0][1:]}
        elif call.method == "files.getUploadURLExternal":  # files_upload_v2, step 1 of 3
            with self.lock:
                file_id = f"F{next(self._ids):08d}"
                self.uploads[file_id] = Upload(
                    file_id, str(call.body["filename"]), int(call.body["length"]), str(call.body.get("alt_txt") or "")
                )
            body |= {"upload_url": f"{self.base}/upload/{file_id}", "file_id": file_id}
        elif call.method == "files.completeUploadExternal":
            files = call.body.get("files", "[]")
            body["files"] = json.loads(files) if isinstance(files, str) else files
        elif call.method == "response_url":
            return 200, {"Content-Type": "text/plain"}, b"ok"
        return (
            200,
            {"Content-Type": "application/json", "x-oauth-scopes": ",".join(self.scopes)},
            json.dumps(body).encode(),
        )


def _json(body: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()


def _make_handler(fake: FakeSlack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _record(self, verb: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            path = urlparse(self.path).path
            if path.startswith("/api/"):
                method = path.removeprefix("/api/")
            elif path.startswith("/response/"):
                method = "response_url"
            elif path.startswith("/files/"):
                method = "download"
            elif path.startswith("/upload/"):
                method = "upload"
            else:
                method = path
            body: dict[str, Any] = {}
            ctype = self.headers.get("Content-Type", "")
            if method == "upload":
                pass  # raw file bytes, whatever the Content-Type claims
            elif raw and "json" in ctype:
                body = json.loads(raw)
            elif raw and "x-www-form-urlencoded" in ctype:
                body = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                for key in ("blocks", "view"):  # form-encoded calls carry these as JSON text
                    if isinstance(body.get(key), str):
                        body[key] = json.loads(body[key])
            query = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
            body = {**query, **body}
            for key in ("blocks", "view"):  # a JSON body may also carry them as JSON text (slack_sdk does)
                if isinstance(body.get(key), str) and body[key][:1] in ("[", "{"):
                    body[key] = json.loads(body[key])
            call = Call(method, path, {k.lower(): v for k, v in self.headers.items()}, body, raw)
            # The answer is settled before the call shows in `calls`: a test that waits for a call and then
            # changes `responders` (or clears) must not change the answer to that call, which is still on its way.
            status, headers, payload = fake.answer(call)
            fake.spend_trigger(call, status, payload)
            with fake.lock:
                fake.calls.append(call)
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_POST(self) -> None:  # noqa: N802
            self._record("POST")

        def do_GET(self) -> None:  # noqa: N802
            self._record("GET")

    return Handler


STARTED: list[FakeSlack] = []  # every fake this process started, so a conftest fixture can check them all


def start() -> FakeSlack:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    fake = FakeSlack(server=server)
    STARTED.append(fake)
    server.RequestHandlerClass = _make_handler(fake)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return fake
