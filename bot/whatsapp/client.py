"""WhatsApp Cloud API client: template sends, the template list, and errors classified by `error.code`.

Meta advises branching on `error.code`, never on the HTTP status or the title; the table below is
ours (checked against Meta's list by a conformance test when `../shared` is present). The send API
has no idempotency key, so a request that may have reached Meta without an answer is `Ambiguous`,
never silently retried.
"""

from __future__ import annotations

import itertools
import json
import re
import ssl
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import certifi
import httpx

from bot.config.settings import Settings


class Kind(StrEnum):
    """What a broadcaster does about an error."""

    THROTTLE = "throttle"  # slow the whole broadcast down, retry the same message later
    PAIR = "pair"  # too many messages to this recipient: delay only this one
    TRANSIENT = "transient"  # retry with backoff a bounded number of times
    RECIPIENT = "recipient"  # this recipient cannot get it: fail it with its reason
    FATAL = "fatal"  # every further send would fail the same way: stop the broadcast


KINDS: dict[int, Kind] = {
    130429: Kind.THROTTLE,
    80007: Kind.THROTTLE,
    4: Kind.THROTTLE,
    131057: Kind.THROTTLE,
    131056: Kind.PAIR,
    131000: Kind.TRANSIENT,
    131016: Kind.TRANSIENT,
    1: Kind.TRANSIENT,
    2: Kind.TRANSIENT,
    131026: Kind.RECIPIENT,
    131047: Kind.RECIPIENT,
    131049: Kind.RECIPIENT,
    131050: Kind.RECIPIENT,
    130472: Kind.RECIPIENT,
    130497: Kind.RECIPIENT,
    131021: Kind.RECIPIENT,
    130403: Kind.RECIPIENT,
    131009: Kind.RECIPIENT,
    0: Kind.FATAL,
    10: Kind.FATAL,
    100: Kind.FATAL,
    190: Kind.FATAL,
    368: Kind.FATAL,
    131008: Kind.FATAL,
    131031: Kind.FATAL,
    131042: Kind.FATAL,
    131045: Kind.FATAL,
    131048: Kind.FATAL,
    131051: Kind.FATAL,
    131064: Kind.FATAL,
    135000: Kind.FATAL,
}


def classify(code: int | None, http_status: int = 400) -> Kind:
    """Our rule for a code; unknown codes fall back on the status (5xx transient, else per recipient)."""
    if code is not None:
        if code in KINDS:
            return KINDS[code]
        if 132000 <= code <= 132999 or 200 <= code <= 299:  # template/parameter and permission families
            return Kind.FATAL
    return Kind.TRANSIENT if http_status >= 500 else Kind.RECIPIENT


class WhatsAppError(Exception):
    """Meta answered with an error (or a 5xx page): the message was not sent."""

    def __init__(self, code: int | None, title: str, http_status: int, details: str = "") -> None:
        super().__init__(f"{code}: {title}")
        self.code, self.title, self.http_status, self.details = code, title, http_status, details
        self.kind = classify(code, http_status)


class Ambiguous(Exception):
    """The request may have reached Meta but no answer came back: do not resend blindly."""


# --- templates -------------------------------------------------------------------------------------

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
MEDIA_FORMATS = {"IMAGE": "image", "VIDEO": "video", "DOCUMENT": "document"}


@dataclass(frozen=True)
class TemplateParam:
    """One value a send must fill. `key` is what users and `--param` name it by."""

    key: str  # body: "1" / "first_name"; header: "header.1" / "header.image"; url button: "button.0"
    component: str  # header|body|button
    name: str  # the placeholder's name (or media kind)
    kind: str = "text"  # text|image|video|document
    index: int | None = None  # button index


@dataclass(frozen=True)
class Template:
    name: str
    language: str
    category: str
    status: str
    named: bool  # parameter_format NAMED: each value carries parameter_name
    body: str
    params: tuple[TemplateParam, ...] = field(default_factory=tuple)

    @property
    def keys(self) -> list[str]:
        return [p.key for p in self.params]


def _ordered(names: list[str]) -> list[str]:
    seen = list(dict.fromkeys(names))
    return sorted(seen, key=int) if all(n.isdigit() for n in seen) else seen


def parse_template(raw: Mapping[str, Any]) -> Template:
    params: list[TemplateParam] = []
    body = ""
    for comp in raw.get("components") or []:
        ctype = str(comp.get("type", "")).upper()
        if ctype == "HEADER":
            fmt = str(comp.get("format", "TEXT")).upper()
            if fmt in MEDIA_FORMATS:
                kind = MEDIA_FORMATS[fmt]
                params.append(TemplateParam(f"header.{kind}", "header", kind, kind))
            else:
                for name in _ordered(PLACEHOLDER.findall(comp.get("text") or "")):
                    params.append(TemplateParam(f"header.{name}", "header", name))
        elif ctype == "BODY":
            body = comp.get("text") or ""
            params += [TemplateParam(n, "body", n) for n in _ordered(PLACEHOLDER.findall(body))]
        elif ctype == "BUTTONS":
            for i, button in enumerate(comp.get("buttons") or []):
                is_url = str(button.get("type", "")).upper() == "URL"
                if is_url and PLACEHOLDER.search(button.get("url") or ""):
                    params.append(TemplateParam(f"button.{i}", "button", "1", index=i))
    return Template(
        name=str(raw.get("name", "")),
        language=str(raw.get("language", "")),
        category=str(raw.get("category", "")),
        status=str(raw.get("status", "")),
        named=str(raw.get("parameter_format", "")).upper() == "NAMED",
        body=body,
        params=tuple(params),
    )


def clean_value(value: str) -> str:
    """WhatsApp rejects newlines, tabs and long runs of spaces in text parameters."""
    return re.sub(r" {4,}", "   ", re.sub(r"[\r\n\t]+", " ", value)).strip()


def check_values(template: Template, values: Mapping[str, str]) -> list[str]:
    """Problems (i18n keys with the parameter) that would make Meta answer 132000/132012: none = ok."""
    problems = [f"missing:{k}" for k in template.keys if not clean_value(values.get(k) or "")]
    problems += [f"unknown:{k}" for k in values if k not in template.keys]
    return problems


def components(template: Template, values: Mapping[str, str]) -> list[dict[str, Any]]:
    """The `template.components` of a send, in the shape of Meta's examples."""
    out: list[dict[str, Any]] = []
    for part in ("header", "body"):
        parameters = []
        for p in template.params:
            if p.component != part:
                continue
            value = clean_value(values[p.key])
            if p.kind != "text":
                parameters.append({"type": p.kind, p.kind: {"link": value}})
                continue
            item: dict[str, Any] = {"type": "text", "text": value}
            if template.named:
                item["parameter_name"] = p.name
            parameters.append(item)
        if parameters:
            out.append({"type": part, "parameters": parameters})
    for p in template.params:
        if p.component == "button":
            out.append(
                {
                    "type": "button",
                    "sub_type": "url",
                    "index": str(p.index),
                    "parameters": [{"type": "text", "text": clean_value(values[p.key])}],
                }
            )
    return out


def send_body(to: str, name: str, language: str, comps: list[dict[str, Any]]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "template",
        "template": {"name": name, "language": {"code": language}},
    }
    if comps:
        body["template"]["components"] = comps
    return body


def parse_send(status: int, content: bytes) -> str:
    """The accepted message's wamid, or WhatsAppError with Meta's code."""
    try:
        data = json.loads(content) if content else {}
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    if status == 200 and data.get("messages"):
        return str(data["messages"][0]["id"])
    error = data.get("error") or {}
    code = error.get("code")
    details = (error.get("error_data") or {}).get("details") or ""
    title = error.get("error_user_title") or error.get("message") or f"HTTP {status}"
    return _raise(int(code) if isinstance(code, int) else None, str(title)[:300], status, str(details)[:300])


def _raise(code: int | None, title: str, status: int, details: str) -> str:
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
        params: dict[str, Any] = {"limit": page_size}
        for _ in itertools.count():
            response = self.http.get(url, params=params, headers=_headers(self.settings))
            if response.status_code != 200:
                parse_send(response.status_code, response.content)
            data = response.json()
            yield from data.get("data") or []
            after = ((data.get("paging") or {}).get("cursors") or {}).get("after")
            if not after or not (data.get("paging") or {}).get("next"):
                return
            params = {"limit": page_size, "after": after}

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
    """The broadcast engine's sender: many requests in flight over few connections.

    It talks to httpx's transport directly: the client layer (cookies, redirects, auth hooks)
    costs a third of the CPU per request and a broadcast needs none of it. Over https one
    HTTP/2 connection multiplexes the requests; a plain-http endpoint (the loopback fake) gets a
    set of single-connection HTTP/1.1 transports, which measured faster than one shared pool.
    """

    def __init__(self, settings: Settings, concurrency: int) -> None:
        self.url = httpx.URL(_messages_url(settings))
        self.headers = {**_headers(settings), "Content-Type": "application/json"}
        self.timeout = {"timeout": TIMEOUT.as_dict()}
        tls = ssl.create_default_context(cafile=certifi.where())  # one context: each costs ~40 ms of CPU
        if settings.whatsapp_api_url.startswith("https://"):
            limits = httpx.Limits(max_connections=4, max_keepalive_connections=4)
            self.transports = [httpx.AsyncHTTPTransport(verify=tls, http2=True, limits=limits)]
        else:
            one = httpx.Limits(max_connections=1, max_keepalive_connections=1)
            self.transports = [httpx.AsyncHTTPTransport(verify=tls, limits=one) for _ in range(max(1, concurrency))]
        self._next = itertools.cycle(range(len(self.transports)))

    async def aclose(self) -> None:
        for transport in self.transports:
            await transport.aclose()

    async def send(self, body: bytes, client_no: int | None = None) -> str:
        no = client_no if client_no is not None else next(self._next)
        transport = self.transports[no % len(self.transports)]
        request = httpx.Request("POST", self.url, headers=self.headers, content=body, extensions=self.timeout)
        try:
            response = await transport.handle_async_request(request)
            try:
                content = await response.aread()
            finally:
                await response.aclose()
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise WhatsAppError(None, type(exc).__name__, 503) from None  # never left this machine
        except httpx.HTTPError as exc:
            raise Ambiguous(type(exc).__name__) from None
        return parse_send(response.status_code, content)
