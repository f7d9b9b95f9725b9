"""A loopback fake of the WhatsApp Cloud API (Graph API) that validates requests and answers like Meta.

It runs an asyncio HTTP/1.1 server (keep-alive, fast enough that a benchmark measures the sender;
HTTP/2 with prior knowledge on the same port, incl. GOAWAY: tests/fakes/graph_h2.py),
in a thread (`start()`) or in its own process (`spawn()`, or `python -m tests.fakes.graph_api`).
Tests steer and read it over HTTP (`/_fake/config`, `/_fake/stats`), so both modes work alike.

Per-recipient scripts (`rules`: E.164 -> list of steps, used one per request) make it answer with
an error code, slowly, with a `message_status` other than `accepted`, or drop the connection after
accepting; `throttle_mps` answers 130429 above a rate. It counts accepted messages per recipient and
keeps the accept times for window checks.
What a send body must look like, component by component, and the error titles: graph_rules.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlparse

import aiohttp
import httpx

from tests.fakes import graph_h2, graph_rules

TOKEN = "EAAtest-fake-graph-token"
VERSION = "v23.0"
PHONE_ID = "1234567890"
WABA_ID = "9876543210"
APP_ID = "5550001112223"
APP_SECRET = "fake-graph-app-secret"
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")

TITLES = {
    130429: "Rate limit hit",
    131056: "(Business Account, Consumer Account) pair rate limit hit",
    131000: "Something went wrong",
    131016: "Service unavailable",
    131026: "Message undeliverable",
    131049: "This message was not delivered to maintain healthy ecosystem engagement.",
    130472: "User's number is part of an experiment",
    190: "Access token has expired",
    368: "Temporarily blocked for policies violations",
    131042: "Business eligibility payment issue",
    132000: "Number of parameters does not match the expected number of params",
    132001: "Template name does not exist in the translation",
    100: "Invalid parameter",
    131008: "Required parameter is missing",
    131009: "Parameter value is not valid",
    80007: "Rate limit issues",
    4: "Application request limit reached",
    15: "This method must be called with an app access_token.",
}
TITLES |= {k: v for k, v in graph_rules.TITLES.items() if k not in TITLES}
WEBHOOK_FIELDS = (
    "messages",
    "user_preferences",
    "message_template_status_update",
    "phone_number_quality_update",
    "account_update",
)

DEFAULT_TEMPLATES: list[dict[str, Any]] = [
    {
        "name": "hello_world",
        "language": "en_US",
        "status": "APPROVED",
        "category": "UTILITY",
        "id": "1",
        "components": [
            {"type": "HEADER", "format": "TEXT", "text": "Hello World"},
            {"type": "BODY", "text": "Welcome and congratulations!!"},
        ],
    },
    {
        "name": "termin_erinnerung",
        "language": "de",
        "status": "APPROVED",
        "category": "UTILITY",
        "id": "2",
        "components": [
            {"type": "BODY", "text": "Hallo {{1}}, Ihr Termin ist am {{2}}."},
            {"type": "FOOTER", "text": "Antworten Sie STOP zum Abmelden"},
        ],
    },
    {
        "name": "angebot",
        "language": "de",
        "status": "APPROVED",
        "category": "MARKETING",
        "id": "3",
        "parameter_format": "NAMED",
        "components": [
            {"type": "HEADER", "format": "TEXT", "text": "Angebot für {{vorname}}"},
            {"type": "BODY", "text": "Hallo {{vorname}}, Code {{code}} gilt bis Sonntag."},
            {
                "type": "BUTTONS",
                "buttons": [
                    {"type": "URL", "text": "Ansehen", "url": "https://example.com/a/{{1}}"},
                    {"type": "QUICK_REPLY", "text": "Stopp"},
                ],
            },
        ],
    },
    {
        "name": "alt_abgelehnt",
        "language": "de",
        "status": "REJECTED",
        "category": "MARKETING",
        "id": "4",
        "components": [{"type": "BODY", "text": "Nie verschickt"}],
    },
]


@dataclass
class State:
    templates: list[dict[str, Any]] = field(default_factory=lambda: [dict(t) for t in DEFAULT_TEMPLATES])
    rules: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    delay: float = 0.0
    throttle_mps: int = 0
    fail_all: int | None = None
    counts: Counter[str] = field(default_factory=Counter)
    accepted_at: list[float] = field(default_factory=list)
    arrived_at: list[float] = field(default_factory=list)  # every send request, answered or not, as it arrived
    recent: deque[float] = field(default_factory=deque)
    requests: int = 0
    active: int = 0  # sends being answered now (a test waits for 0 after killing the sender)
    errors: Counter[int] = field(default_factory=Counter)
    invalid: list[str] = field(default_factory=list)
    seq: int = 0
    # Like Meta, post status webhooks for an accepted message: {"url", "secret", "statuses": [...]}; each
    # status "sent"/"delivered"/"read" or {"status": "failed", "code": N}; a rule step's "statuses" wins.
    # They are posted before the send is answered, so they always arrive before the sender knows the id;
    # with "after": true they follow the answer in the background, concurrently, as Meta sends them.
    webhook: dict[str, Any] | None = None
    client: Any = None
    tier: str = "TIER_250"  # the number's messaging_limit_tier (GET /{phone-number-id}?fields=...)
    goaway_after: int = 0  # HTTP/2: send GOAWAY after this many answered streams on a connection (0: never)
    hooks: set[Any] = field(default_factory=set)  # status webhooks still being posted (webhook "after" mode)
    hooks_posted: int = 0
    media_ids: set[str] = field(default_factory=set)  # ids handed out by POST /{phone-number-id}/media
    media_types: dict[str, str] = field(default_factory=dict)  # media id -> the MIME type it was uploaded as
    template_queries: list[dict[str, str]] = field(default_factory=list)  # query of each template-list GET
    # The account as `contactbot doctor` reads it: the token's validity and permissions (debug_token), the
    # number's quality and tier (phone_numbers), the app's webhook fields (/{app-id}/subscriptions).
    token_valid: bool = True
    token_scopes: list[str] = field(
        default_factory=lambda: ["whatsapp_business_messaging", "whatsapp_business_management"]
    )
    quality_rating: str = "GREEN"
    messaging_limit_tier: str = "TIER_1K"
    subscribed_fields: list[str] = field(default_factory=lambda: list(WEBHOOK_FIELDS))

    # --- validation, like Meta ---
    def _template(self, tpl: dict[str, Any]) -> tuple[int, str] | None:
        name, lang = tpl.get("name"), (tpl.get("language") or {}).get("code")
        found = next(
            (t for t in self.templates if t["name"] == name and t["language"] == lang and t["status"] == "APPROVED"),
            None,
        )
        if found is None:
            return 132001, f"template {name!r} not approved in {lang!r}"
        return graph_rules.check_template_send(found, tpl, self.media_types)

    def validate(self, body: dict[str, Any]) -> tuple[int, str] | None:
        if body.get("messaging_product") != "whatsapp" or body.get("type") != "template":
            return 100, "messaging_product/type"
        if not isinstance(body.get("to"), str) or not E164.match(body["to"]):
            return 131009, f"to is not E.164: {body.get('to')!r}"
        opaque = body.get("biz_opaque_callback_data")  # string, at most 512 characters (Meta's OpenAPI spec)
        if opaque is not None and (not isinstance(opaque, str) or len(opaque) > 512):
            return 100, "biz_opaque_callback_data must be a string of at most 512 characters"
        return self._template(body.get("template") or {})

    def window_max(self) -> int:
        """The most messages accepted in any one-second window (sliding)."""
        times, best, lo = sorted(self.accepted_at), 0, 0
        for hi, t in enumerate(times):
            while t - times[lo] >= 1.0:
                lo += 1
            best = max(best, hi - lo + 1)
        return best

    def stats(self) -> dict[str, Any]:
        times = sorted(self.accepted_at)
        return {
            "counts": dict(self.counts),
            "accepted": len(times),
            "requests": self.requests,
            "active": self.active,
            "errors": {str(k): v for k, v in self.errors.items()},
            "invalid": self.invalid[-20:],
            "media_ids": sorted(self.media_ids),
            "media_types": dict(self.media_types),
            "webhooks_pending": len(self.hooks),
            "webhooks_posted": self.hooks_posted,
            "template_queries": self.template_queries[-20:],
            "window_max": self.window_max(),
            "first": times[0] if times else None,
            "last": times[-1] if times else None,
        }


def error_body(code: int, detail: str = "") -> bytes:
    return json.dumps(
        {
            "error": {
                "message": f"({code}) {TITLES.get(code, 'Error')}",
                "type": "OAuthException",
                "code": code,
                "error_data": {"messaging_product": "whatsapp", "details": detail or TITLES.get(code, "")},
                "fbtrace_id": "AbCdEf123",
            }
        }
    ).encode()


DROP = object()


def wa_id_for(to: str) -> str:
    """The wa_id Meta answers for a number: not always its digits (Meta's send response documents
    `contacts[].input` and `contacts[].wa_id` as separate fields for this reason).

    Mexico: mobiles are known as `521` + 10 digits (the pre-2019 mobile prefix); Brazil: accounts
    made before the ninth mobile digit are known without it; Argentina: mobiles as `549` + 10 digits.
    (Seen in the wild: chatwoot/chatwoot#5840, #6222 (Brazil), #14174, #14926 (Mexico).)
    """
    d = to.lstrip("+")
    if d.startswith("52") and len(d) == 12:
        return "521" + d[2:]
    if d.startswith("55") and len(d) == 13 and d[4] == "9" and d[5] in "6789":
        return d[:4] + d[5:]
    if d.startswith("54") and len(d) == 12:
        return "549" + d[2:]
    return d


def _subscriptions(state: State, headers: dict[str, str]) -> tuple[int, bytes]:
    """GET /{app-id}/subscriptions: only with the app access token `app_id|app_secret`; any other token gets
    code 15 (https://developers.facebook.com/docs/graph-api/reference/app/subscriptions/,
    https://developers.facebook.com/docs/facebook-login/guides/access-tokens#apptokens)."""
    auth = headers.get("authorization", "").removeprefix("Bearer ")
    if "|" not in auth:
        return 400, error_body(15)
    if auth != f"{APP_ID}|{APP_SECRET}":
        return 400, error_body(190, "Invalid OAuth access token signature.")
    fields = [{"name": name, "version": VERSION} for name in state.subscribed_fields]
    subscription = {
        "object": "whatsapp_business_account",
        "callback_url": "https://contactbot.example/whatsapp/webhook",
        "active": bool(fields),
        "fields": fields,
    }
    return 200, json.dumps({"data": [subscription] if fields else []}).encode()


def _debug_token(state: State, query: dict[str, str]) -> tuple[int, bytes]:
    """GET /debug_token?input_token=...: what Meta knows of a token; an unknown one is `is_valid: false` with
    the reason inside `data` (https://developers.facebook.com/docs/graph-api/reference/debug_token/)."""
    if query.get("input_token") != TOKEN or not state.token_valid:
        error = {"code": 190, "message": "Error validating access token: The session has been invalidated."}
        return 200, json.dumps({"data": {"is_valid": False, "error": error, "scopes": []}}).encode()
    data = {
        "app_id": APP_ID,
        "type": "SYSTEM_USER",
        "application": "contactbot test",
        "expires_at": 0,
        "is_valid": True,
        "scopes": state.token_scopes,
        "granular_scopes": [{"scope": scope, "target_ids": [WABA_ID]} for scope in state.token_scopes],
    }
    return 200, json.dumps({"data": data}).encode()


def _phone_numbers(state: State, waba: str) -> tuple[int, bytes]:
    """GET /{waba-id}/phone_numbers with quality_rating and messaging_limit_tier
    (https://developers.facebook.com/docs/whatsapp/business-management-api/manage-phone-numbers); an id that is
    not this account answers code 100 like Meta's "Unsupported get request. Object with ID ... does not exist"."""
    if waba != WABA_ID:
        return 400, error_body(100, f"Unsupported get request. Object with ID '{waba}' does not exist")
    number = {
        "id": PHONE_ID,
        "display_phone_number": "+49 30 1234567",
        "verified_name": "Contactbot Test",
        "quality_rating": state.quality_rating,
        "messaging_limit_tier": state.messaging_limit_tier,
    }
    return 200, json.dumps({"data": [number]}).encode()


async def answer(
    state: State, method: str, target: str, headers: dict[str, str], body: bytes
) -> tuple[int, bytes] | object:
    url = urlparse(target)
    path = url.path
    if path == "/_fake/stats":
        return 200, json.dumps(state.stats()).encode()
    if path == "/_fake/arrivals":  # long in a benchmark: not part of the stats a test polls
        return 200, json.dumps(state.arrived_at).encode()
    if path == "/_fake/config":
        conf = json.loads(body or b"{}")
        if conf.pop("reset", False):
            fresh = State()
            for name in (
                "counts",
                "accepted_at",
                "arrived_at",
                "recent",
                "requests",
                "errors",
                "invalid",
                "rules",
                "template_queries",
            ):
                setattr(state, name, getattr(fresh, name))
        for key, value in conf.items():
            setattr(state, key, value)
        return 200, b"{}"
    if method == "GET" and path == f"/{VERSION}/{APP_ID}/subscriptions":
        return _subscriptions(state, headers)
    if headers.get("authorization") != f"Bearer {TOKEN}":
        return 401, error_body(190, "Invalid OAuth access token")
    if method == "GET" and path == f"/{VERSION}/debug_token":
        return _debug_token(state, {k: v[0] for k, v in parse_qs(url.query).items()})
    if method == "GET" and path.endswith("/phone_numbers"):
        return _phone_numbers(state, path.split("/")[-2])
    if method == "GET" and path == f"/{VERSION}/{WABA_ID}/message_templates":
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        state.template_queries.append(query)
        limit, start = int(query.get("limit", 25)), int(query.get("after") or 0)
        page = state.templates[start : start + limit]
        paging: dict[str, Any] = {"cursors": {"before": str(start), "after": str(start + len(page))}}
        if start + limit < len(state.templates):
            paging["next"] = f"http://fake/{VERSION}/{WABA_ID}/message_templates?after={start + limit}"
        return 200, json.dumps({"data": page, "paging": paging}).encode()
    if method == "GET" and path == f"/{VERSION}/{PHONE_ID}":
        return phone_number(state, {k: v[0] for k, v in parse_qs(url.query).items()})
    if method == "POST" and path == f"/{VERSION}/{PHONE_ID}/media":
        return media_upload(state, headers, body)
    if method != "POST" or path != f"/{VERSION}/{PHONE_ID}/messages":
        return 404, error_body(100, f"Unknown path {path}")
    state.requests += 1
    state.arrived_at.append(time.monotonic())  # Meta's throughput limit counts requests as they come in
    try:
        data = json.loads(body)
    except ValueError:
        return 400, error_body(100, "body is not JSON")
    problem = state.validate(data)
    if problem is not None:
        state.invalid.append(problem[1])
        state.errors[problem[0]] += 1
        return 400, error_body(*problem)
    state.active += 1
    try:
        return await _accept(state, data)
    finally:
        state.active -= 1


async def _accept(state: State, data: dict[str, Any]) -> tuple[int, bytes] | object:
    to = data["to"]
    step = state.rules[to].pop(0) if state.rules.get(to) else {}
    delay = step.get("delay", state.delay)
    if delay:
        await asyncio.sleep(delay)
    code = step.get("error", state.fail_all)
    if step.get("status"):  # a proxy's HTML error page, no JSON
        return int(step["status"]), b"<html>Service Unavailable</html>"
    now = time.monotonic()
    if code is None and state.throttle_mps:
        while state.recent and now - state.recent[0] >= 1.0:
            state.recent.popleft()
        if len(state.recent) >= state.throttle_mps:
            code = 130429
    if code is not None:
        state.errors[int(code)] += 1
        return (500 if code in graph_rules.SERVER_SIDE else 400), error_body(int(code))
    state.seq += 1
    state.counts[to] += 1
    state.accepted_at.append(now)
    state.recent.append(now)
    wamid = f"wamid.FAKE{os.getpid()}x{state.seq:09d}"
    opaque = data.get("biz_opaque_callback_data")
    if state.webhook and state.webhook.get("after"):
        schedule_statuses(state, wamid, to, step.get("statuses", state.webhook.get("statuses", [])), opaque)
    elif state.webhook:
        await post_statuses(state, wamid, to, step.get("statuses", state.webhook.get("statuses", [])), opaque)
    if step.get("drop"):  # accepted, but the answer never arrives
        return DROP
    return 200, json.dumps(
        {
            "messaging_product": "whatsapp",
            "contacts": [{"input": to, "wa_id": wa_id_for(to)}],
            "messages": [{"id": wamid, "message_status": step.get("message_status", "accepted")}],
        }
    ).encode()


async def post_statuses(state: State, wamid: str, to: str, statuses: list[Any], opaque: str | None = None) -> None:
    """Status webhooks for one message, signed with the app secret, in the given order (repeats allowed);
    each echoes the send's `biz_opaque_callback_data` like Meta's do."""
    if not statuses or state.webhook is None:
        return
    items = []
    for i, raw in enumerate(statuses):
        item = raw if isinstance(raw, dict) else {"status": raw}
        entry: dict[str, Any] = {
            "id": wamid,
            "status": item["status"],
            "timestamp": str(int(time.time()) + i),
            "recipient_id": wa_id_for(to),
        }
        if opaque is not None:
            entry["biz_opaque_callback_data"] = opaque
        if item.get("code"):
            entry["errors"] = [{"code": item["code"], "title": TITLES.get(item["code"], "Error")}]
        items.append(entry)
    if state.client is None:  # aiohttp: a fifth of httpx's CPU per post, so the fake can post 3x a broadcast's rate
        state.client = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=30), connector=aiohttp.TCPConnector(limit=100)
        )
    for entry in items:  # one webhook per status, as Meta sends them
        body = json.dumps(
            {
                "object": "whatsapp_business_account",
                "entry": [
                    {
                        "id": WABA_ID,
                        "changes": [
                            {
                                "field": "messages",
                                "value": {
                                    "messaging_product": "whatsapp",
                                    "metadata": {"display_phone_number": "4930123456", "phone_number_id": PHONE_ID},
                                    "statuses": [entry],
                                },
                            }
                        ],
                    }
                ],
            }
        ).encode()
        signature = "sha256=" + hmac.new(state.webhook["secret"].encode(), body, hashlib.sha256).hexdigest()
        status = await _deliver(state, body, signature)
        if status != 200:
            state.invalid.append(f"webhook answered {status}")


WEBHOOK_ATTEMPTS = 5


async def _deliver(state: State, body: bytes, signature: str) -> int:
    """POST one webhook; a request that never got an answer (connection refused or reset, e.g. a keep-alive
    connection the server closed just as it was reused) is sent again, as Meta does: a webhook it could not
    deliver, or that was not answered with 200, is retried with decreasing frequency for up to 7 days
    (https://developers.facebook.com/docs/whatsapp/cloud-api/guides/set-up-webhooks). A retried request may
    have arrived already: the app must count what it carries once."""
    for attempt in range(WEBHOOK_ATTEMPTS):
        try:
            async with state.client.post(
                state.webhook["url"] if state.webhook else "",
                data=body,
                headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature},
            ) as response:
                await response.read()
                return int(response.status)
        except aiohttp.ClientConnectionError:
            if attempt == WEBHOOK_ATTEMPTS - 1:
                raise
            await asyncio.sleep(0.1 * (attempt + 1))
    raise AssertionError("unreachable")


def phone_number(state: State, query: dict[str, str]) -> tuple[int, bytes]:
    """GET /{phone-number-id}: like Meta, only the default fields unless `fields=` names more
    (OpenAPI spec: "only default fields (id, display_phone_number, verified_name, quality_rating)")."""
    data = {"id": PHONE_ID, "display_phone_number": "+49 30 123456", "verified_name": "Test", "quality_rating": "GREEN"}
    wanted = [f for f in query.get("fields", "").split(",") if f]
    if wanted:
        extra = {"messaging_limit_tier": state.tier, "status": "CONNECTED"}
        data = {k: v for k, v in (data | extra).items() if k in wanted or k == "id"}
    return 200, json.dumps(data).encode()


def _multipart(ctype: str, body: bytes) -> dict[str, tuple[dict[str, str], bytes]]:
    """name -> (part headers incl. `filename`, content) of a multipart/form-data body (RFC 7578)."""
    boundary = next((p.split("=", 1)[1].strip('"') for p in ctype.split(";") if p.strip().startswith("boundary=")), "")
    parts: dict[str, tuple[dict[str, str], bytes]] = {}
    if not boundary:
        return parts
    for chunk in body.split(b"--" + boundary.encode())[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, content = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        headers = {}
        for line in head.decode("latin-1").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        disposition = dict(
            (k.strip(), v.strip().strip('"'))
            for k, _, v in (item.partition("=") for item in headers.get("content-disposition", "").split(";")[1:])
        )
        headers["filename"] = disposition.get("filename", "")
        parts[disposition.get("name", "")] = (headers, content.removesuffix(b"\r\n"))
    return parts


def media_upload(state: State, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
    """POST /{phone-number-id}/media like Meta: multipart form-data with `messaging_product=whatsapp`, the file's
    MIME `type` and the `file` (OpenAPI spec, uploadImage; Cloud API reference "Upload media"); only Meta's
    supported media types, each within its size limit (graph_rules.MEDIA_LIMITS); the id remembers its type."""
    ctype = headers.get("content-type", "")
    parts = _multipart(ctype, body) if ctype.startswith("multipart/form-data") else {}
    if parts.get("messaging_product", ({}, b""))[1] != b"whatsapp":
        return 400, error_body(100, "multipart form with messaging_product=whatsapp, type and file expected")
    if "file" not in parts or not parts["file"][1]:
        return 400, error_body(131008, "file is missing")
    declared = parts.get("type", ({}, b""))[1].decode("latin-1").strip().lower()
    problem = graph_rules.check_upload(declared, parts["file"][0].get("content-type", ""), len(parts["file"][1]))
    if problem is not None:
        state.invalid.append(problem[1])
        return 400, error_body(*problem)
    state.seq += 1
    media_id = f"{9000000000 + state.seq}"
    state.media_ids.add(media_id)
    state.media_types[media_id] = declared
    return 200, json.dumps({"id": media_id}).encode()


def schedule_statuses(state: State, wamid: str, to: str, statuses: list[Any], opaque: str | None = None) -> None:
    """Meta's way: the send is answered first; the statuses follow on their own, each message's in
    order, many messages' at the same time (webhook config `"after": true`)."""

    async def post() -> None:
        try:
            await post_statuses(state, wamid, to, statuses, opaque)
            state.hooks_posted += len(statuses)
        except Exception as exc:  # a webhook the app did not take is a finding, not a crash of the fake
            state.invalid.append(f"webhook not delivered: {type(exc).__name__}")

    task = asyncio.get_running_loop().create_task(post())
    state.hooks.add(task)
    task.add_done_callback(state.hooks.discard)


REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


async def _serve_conn(state: State, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        first = True
        while True:
            line = await reader.readline()
            if not line:
                return
            if first and line == graph_h2.PREFACE[:16]:  # "PRI * HTTP/2.0\r\n": an HTTP/2 client (h2c)
                await graph_h2.serve_h2(state, answer, DROP, reader, writer, line)
                return
            first = False
            method, target, _ = line.decode("latin-1").split(" ", 2)
            headers: dict[str, str] = {}
            while True:
                raw = await reader.readline()
                if raw in (b"\r\n", b"\n", b""):
                    break
                key, _, value = raw.decode("latin-1").partition(":")
                headers[key.strip().lower()] = value.strip()
            length = int(headers.get("content-length") or 0)
            body = await reader.readexactly(length) if length else b""
            result = await answer(state, method, target, headers, body)
            if result is DROP:
                return
            status, payload = result  # type: ignore[misc]
            ctype = b"text/html" if payload.startswith(b"<") else b"application/json"
            writer.write(
                b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s"
                % (status, REASONS.get(status, "Error").encode(), ctype, len(payload), payload)
            )
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError, ValueError):
        return
    finally:
        with contextlib.suppress(RuntimeError):  # the loop may already be gone at shutdown
            writer.close()


async def serve(host: str = "127.0.0.1", port: int = 0, ready: Any = None) -> None:
    state = State()
    server = await asyncio.start_server(lambda r, w: _serve_conn(state, r, w), host, port, backlog=1024)
    if ready is not None:
        ready(server.sockets[0].getsockname()[1])
    async with server:
        await server.serve_forever()


@dataclass
class FakeGraph:
    """Handle on a running fake, in a thread or in another process."""

    port: int
    process: subprocess.Popen[bytes] | None = None
    loop: asyncio.AbstractEventLoop | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base}/{VERSION}"

    def env(self) -> dict[str, str]:
        """Settings that point contactbot at this fake."""
        return {
            "WHATSAPP_API_URL": self.api_url,
            "WHATSAPP_TOKEN": TOKEN,
            "WHATSAPP_PHONE_NUMBER_ID": PHONE_ID,
            "WHATSAPP_BUSINESS_ACCOUNT_ID": WABA_ID,
        }

    def configure(self, **conf: Any) -> None:
        httpx.post(f"{self.base}/_fake/config", json=conf, timeout=10).raise_for_status()

    def stats(self) -> dict[str, Any]:
        return httpx.get(f"{self.base}/_fake/stats", timeout=30).json()  # type: ignore[no-any-return]

    def arrivals(self) -> list[float]:
        """When each send request arrived (the fake's monotonic clock), in arrival order."""
        return httpx.get(f"{self.base}/_fake/arrivals", timeout=30).json()  # type: ignore[no-any-return]

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
        if self.loop is not None:
            asyncio.run_coroutine_threadsafe(_shutdown(), self.loop).result(timeout=10)
            self.loop.call_soon_threadsafe(self.loop.stop)


async def _shutdown() -> None:
    """Cancel the server and its connections so nothing is left pending when the loop stops."""
    me = asyncio.current_task()
    tasks = [t for t in asyncio.all_tasks() if t is not me]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def start() -> FakeGraph:
    """The fake in a daemon thread of this process (for tests)."""
    found: list[int] = []
    loop = asyncio.new_event_loop()
    event = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.create_task(serve(ready=lambda p: (found.append(p), event.set())))
        loop.run_forever()

    threading.Thread(target=run, daemon=True).start()
    if not event.wait(10):
        raise RuntimeError("fake Graph API did not start")
    return FakeGraph(found[0], loop=loop)


def spawn() -> FakeGraph:
    """The fake in its own process, so its CPU is not the sender's (kill tests, benchmarks)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.graph_api"],
        stdout=subprocess.PIPE,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    )
    line = process.stdout.readline() if process.stdout else b""
    if not line.strip().isdigit():
        process.kill()
        raise RuntimeError("fake Graph API process did not start")
    return FakeGraph(int(line), process=process)


if __name__ == "__main__":

    def _announce(port: int) -> None:
        print(port, flush=True)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(port=int(sys.argv[1]) if len(sys.argv) > 1 else 0, ready=_announce))
