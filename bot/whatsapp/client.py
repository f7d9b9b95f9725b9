"""WhatsApp Cloud API client: template sends and the template list (errors: bot/whatsapp/errors.py).

The send API has no idempotency key, so a request that may have reached Meta without an answer
raises `Ambiguous` and is never silently retried.
"""

from __future__ import annotations

import itertools
import json
import ssl
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import certifi
import httpx
from httpx_aiohttp import AiohttpTransport

from bot.config.settings import Settings
from bot.whatsapp.errors import Ambiguous, WhatsAppError
from bot.whatsapp.templates import TEMPLATE_FIELDS, Template, components, parse_template, send_body


@dataclass(frozen=True)
class Accepted:
    """Meta accepted a send: the message id, the wa_id Meta knows the recipient by (`contacts[0].wa_id`;
    in Mexico and Brazil it differs from the number we sent to), and Meta's `message_status`
    (`accepted`, or `held_for_quality_assessment`/`paused` for a marketing message held back)."""

    wamid: str
    wa_id: str | None = None
    message_status: str = "accepted"


def parse_send(status: int, content: bytes) -> str:
    """The accepted message's wamid, or WhatsAppError with Meta's code."""
    return _parse(status, _json(content)).wamid


GATEWAY = (502, 504)  # a proxy in front of Meta gave up waiting: the request may have been accepted


def parse_accepted(status: int, content: bytes) -> Accepted:
    """The broadcast send's answer: wamid, recipient wa_id and message_status; `Ambiguous` for a gateway
    error without a Graph error body (Meta may have accepted it: never resent), else WhatsAppError."""
    data = _json(content)
    if status in GATEWAY and not isinstance(data.get("error"), dict):
        raise Ambiguous(f"HTTP {status}")
    return _parse(status, data)


def _json(content: bytes) -> dict[str, Any]:
    try:
        data = json.loads(content) if content else {}
    except ValueError:
        data = {}
    return data if isinstance(data, dict) else {}


def _parse(status: int, data: dict[str, Any]) -> Accepted:
    if status == 200 and data.get("messages"):
        contacts = data.get("contacts")
        first = contacts[0] if isinstance(contacts, list) and contacts and isinstance(contacts[0], dict) else {}
        wa_id = first.get("wa_id")
        message = data["messages"][0]
        meta_status = message.get("message_status") if isinstance(message, dict) else None
        return Accepted(
            str(message["id"]),
            str(wa_id) if isinstance(wa_id, str | int) else None,
            meta_status if isinstance(meta_status, str) else "accepted",
        )
    error = data.get("error") or {}
    code = error.get("code")
    details = (error.get("error_data") or {}).get("details") or ""
    title = error.get("error_user_title") or error.get("message") or f"HTTP {status}"
    return _raise(int(code) if isinstance(code, int) else None, str(title)[:300], status, str(details)[:300])


def _raise(code: int | None, title: str, status: int, details: str) -> Accepted:
    raise WhatsAppError(code, title, status, details)


# --- clients ---------------------------------------------------------------------------------------

TIMEOUT = httpx.Timeout(20.0, connect=5.0, pool=30.0)


def _headers(settings: Settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {settings.whatsapp_token}"}


def _messages_url(settings: Settings) -> str:
    return f"{settings.whatsapp_api_url.rstrip('/')}/{settings.whatsapp_phone_number_id}/messages"


class GraphClient:
    """Synchronous client for the CLI and Slack: list templates, send one (test) message."""

    def __init__(self, settings: Settings, http: httpx.Client | None = None) -> None:
        self.settings = settings
        self.http = http or httpx.Client(timeout=TIMEOUT)

    def close(self) -> None:
        self.http.close()

    def templates(self, page_size: int = 100) -> list[Template]:
        """Every template of the business account, following the paging cursors to the end."""
        return [parse_template(raw) for raw in self._template_pages(page_size)]

    def _template_pages(self, page_size: int) -> Iterator[dict[str, Any]]:
        base = self.settings.whatsapp_api_url.rstrip("/")
        url = f"{base}/{self.settings.whatsapp_business_account_id}/message_templates"
        params: dict[str, Any] = {"limit": page_size, "fields": TEMPLATE_FIELDS}
        for _ in itertools.count():
            response = self.http.get(url, params=params, headers=_headers(self.settings))
            if response.status_code != 200:
                parse_send(response.status_code, response.content)
            data = response.json()
            yield from data.get("data") or []
            after = ((data.get("paging") or {}).get("cursors") or {}).get("after")
            if not after or not (data.get("paging") or {}).get("next"):
                return
            params = {"limit": page_size, "after": after, "fields": TEMPLATE_FIELDS}

    def messaging_tier(self) -> str | None:
        """The phone number's `messaging_limit_tier` (TIER_250 ... TIER_UNLIMITED), asked for explicitly."""
        base = self.settings.whatsapp_api_url.rstrip("/")
        response = self.http.get(
            f"{base}/{self.settings.whatsapp_phone_number_id}",
            params={"fields": "messaging_limit_tier,quality_rating"},
            headers=_headers(self.settings),
        )
        if response.status_code != 200:
            parse_send(response.status_code, response.content)
        tier = response.json().get("messaging_limit_tier")
        return str(tier) if tier else None

    def upload_media(self, content: bytes, mime_type: str, filename: str) -> str:
        """Upload a header file once to /{phone-number-id}/media; its id is then used for every send."""
        base = self.settings.whatsapp_api_url.rstrip("/")
        response = self.http.post(
            f"{base}/{self.settings.whatsapp_phone_number_id}/media",
            data={"messaging_product": "whatsapp", "type": mime_type},
            files={"file": (filename, content, mime_type)},
            headers=_headers(self.settings),
        )
        data = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
        if response.status_code != 200 or not data.get("id"):
            parse_send(response.status_code, response.content)
        return str(data["id"])

    def send(self, to: str, template: Template, values: Mapping[str, str]) -> str:
        body = send_body(to, template.name, template.language, components(template, values))
        try:
            response = self.http.post(_messages_url(self.settings), json=body, headers=_headers(self.settings))
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise WhatsAppError(None, type(exc).__name__, 503) from None
        except httpx.HTTPError as exc:
            raise Ambiguous(type(exc).__name__) from None
        return parse_send(response.status_code, response.content)


class AsyncSender:
    """The broadcast engine's sender: many requests in flight, each costing as little CPU as possible.

    httpx's request and response types over the `httpx-aiohttp` transport (aiohttp's connection pool
    and C HTTP parser): measured side by side with httpx's own transport and with HTTP/2 multiplexing
    (benchmarks/bench_sender.py, docs/benchmarks.md), it costs about half the CPU per send of the former
    and a third of the latter, whose pure-Python framing made it the dearest. It talks to the transport
    directly: the client layer (cookies, redirects, auth hooks) is not needed for a send. HTTP/1.1 with
    keep-alive, one pooled connection per concurrent request; one TLS context for all of them.
    """

    def __init__(self, settings: Settings, concurrency: int) -> None:
        self.url = httpx.URL(_messages_url(settings))
        self.headers = {**_headers(settings), "Content-Type": "application/json"}
        self.timeout = {"timeout": TIMEOUT.as_dict()}
        tls = ssl.create_default_context(cafile=certifi.where())  # one context: each costs ~40 ms of CPU
        pool = httpx.Limits(max_connections=max(1, concurrency), max_keepalive_connections=max(1, concurrency))
        self.transport = AiohttpTransport(verify=tls, limits=pool, trust_env=False)

    async def aclose(self) -> None:
        await self.transport.aclose()

    async def send(self, body: bytes) -> str:
        return parse_send(*await self._exchange(body))

    async def send_accepted(self, body: bytes) -> Accepted:
        """The broadcast send: wamid, recipient wa_id and Meta's message_status; a gateway error is `Ambiguous`."""
        return parse_accepted(*await self._exchange(body))

    async def _exchange(self, body: bytes) -> tuple[int, bytes]:
        request = httpx.Request("POST", self.url, headers=self.headers, content=body, extensions=self.timeout)
        try:
            response = await self.transport.handle_async_request(request)
            try:
                content = await response.aread()
            finally:
                await response.aclose()
        except (httpx.HTTPError, aiohttp.ClientError, TimeoutError) as exc:
            if never_sent(exc):
                raise WhatsAppError(None, type(exc).__name__, 503) from None  # never left this machine
            raise Ambiguous(type(exc).__name__) from None
        return response.status_code, content


def never_sent(exc: BaseException) -> bool:
    """Only a connection that could not be opened (or none free in the pool) proves the request never
    left. The transport maps every aiohttp connection error to httpx.ConnectTimeout, also a server that
    dropped the connection after reading the request, so the verdict is taken from aiohttp's own
    exception: anything else may have reached Meta and is never resent blindly."""
    cause = exc if isinstance(exc, aiohttp.ClientError) else exc.__cause__
    if isinstance(cause, aiohttp.ClientError | TimeoutError):
        return isinstance(cause, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError)
    return isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)


# --- account checks (`contactbot doctor`) -------------------------------------------------------------


def _get(settings: Settings, path: str, params: dict[str, str], token: str | None = None) -> dict[str, Any]:
    """One Graph GET; Meta's error becomes WhatsAppError (its code says which setting is wrong)."""
    url = f"{settings.whatsapp_api_url.rstrip('/')}/{path.lstrip('/')}"
    with httpx.Client(timeout=TIMEOUT) as http:
        response = http.get(url, params=params, headers={"Authorization": f"Bearer {token or settings.whatsapp_token}"})
    if response.status_code != 200:
        parse_send(response.status_code, response.content)
    data = response.json()
    return data if isinstance(data, dict) else {}


def debug_token(settings: Settings) -> dict[str, Any]:
    """What Meta knows about WHATSAPP_TOKEN: is_valid, app_id, scopes, granular_scopes (target ids).

    https://developers.facebook.com/docs/graph-api/reference/debug_token/ (a token may inspect itself).
    """
    return dict(_get(settings, "debug_token", {"input_token": settings.whatsapp_token}).get("data") or {})


def phone_numbers(settings: Settings) -> list[dict[str, Any]]:
    """The business account's phone numbers with quality rating and messaging tier.

    https://developers.facebook.com/docs/whatsapp/business-management-api/manage-phone-numbers and the
    number's fields (quality_rating, messaging_limit_tier):
    https://developers.facebook.com/docs/graph-api/reference/whats-app-business-account-to-number-current-status/
    """
    fields = "id,display_phone_number,verified_name,quality_rating,messaging_limit_tier"
    data = _get(settings, f"{settings.whatsapp_business_account_id}/phone_numbers", {"fields": fields})
    return [row for row in data.get("data") or [] if isinstance(row, dict)]


def app_subscriptions(settings: Settings, app_id: str) -> list[dict[str, Any]]:
    """The app's webhook subscriptions (object, callback_url, active, fields[].name); needs the app access
    token `app_id|app_secret`. https://developers.facebook.com/docs/graph-api/reference/app/subscriptions/
    """
    token = f"{app_id}|{settings.whatsapp_app_secret}"
    data = _get(settings, f"{app_id}/subscriptions", {}, token=token)
    return [row for row in data.get("data") or [] if isinstance(row, dict)]
