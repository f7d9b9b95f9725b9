"""What the fake Graph API checks in a template send, component by component, and how it answers.

Kept apart from the server (tests/fakes/graph_api.py) so each rule sits beside its source:
- send body shapes: Meta's OpenAPI examples (request_send_message_template_media.json,
  request_send_message_template_interactive.json) and the Cloud API reference "Send message
  templates": header parameters of type text, image/video/document (`{"id"}` of an uploaded file
  or `{"link"}`, exactly one), location (latitude, longitude, optional name/address); body
  parameters text, currency, date_time; button components with `sub_type` url (one text parameter:
  the URL suffix), copy_code (one `coupon_code` parameter, at most 15 characters), quick_reply
  (optional payload).
- error codes and titles: Meta's error-codes page (the 40 codes a broadcaster meets, abridged in
  the conformance set as error-codes-broadcaster.json), plus the account-level codes 3, 131005,
  131037 and 133010 from the same page.
A rule returns (code, detail) like Meta's answer, or None when the request is valid.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
MEDIA = ("image", "video", "document")
# Characters that may stand in a URL as they are (RFC 3986 unreserved, reserved and "%"): a suffix
# with anything else (a space, "&" inside a name is allowed but changes the query, umlauts) was not
# encoded by the sender and would make a broken or different link on the customer's phone.
URL_SAFE = re.compile(r"^[A-Za-z0-9\-._~%!$'()*+,;=:@/?]*$")
COUPON_MAX = 15  # Meta: "coupon_code ... Maximum 15 characters"

TITLES = {
    0: "AuthException",
    3: "API Method",
    4: "Application request limit reached",
    10: "Permission denied",
    100: "Invalid parameter",
    190: "Access token has expired",
    200: "Permission error",
    368: "Temporarily blocked for policies violations",
    1: "API Unknown",
    2: "API Service",
    80007: "Rate limit issues",
    130403: "Recipient blocked the business",
    130429: "Rate limit hit",
    130472: "User's number is part of an experiment",
    130497: "Business account is restricted from messaging users in this country",
    131000: "Something went wrong",
    131005: "Access denied",
    131008: "Required parameter is missing",
    131009: "Parameter value is not valid",
    131016: "Service unavailable",
    131021: "Recipient cannot be sender",
    131026: "Message undeliverable",
    131031: "Business Account locked",
    131037: "WhatsApp provided number needs display name approval before message can be sent.",
    131042: "Business eligibility payment issue",
    131045: "Incorrect certificate",
    131047: "Re-engagement message",
    131048: "Spam rate limit hit",
    131049: "This message was not delivered to maintain healthy ecosystem engagement.",
    131050: "User has stopped marketing messages",
    131051: "Unsupported message type",
    131053: "Media upload error",
    131056: "(Business Account, Consumer Account) pair rate limit hit",
    131057: "Account in maintenance mode",
    131064: "Messaging limit reached due to template classification violations",
    132000: "Number of parameters does not match the expected number of params",
    132001: "Template name does not exist in the translation",
    132005: "Translated text too long",
    132007: "Template Format Character Policy Violated",
    132012: "Parameter format does not match format in the created template",
    132015: "Template is Paused",
    132016: "Template is Disabled",
    132018: "There's an issue with the parameters in your template",
    133010: "Phone number Not Registered",
    135000: "Generic user error",
}
SERVER_SIDE = (131000, 131016, 1, 2)  # answered with HTTP 500 like Meta; every other code with 400


def _expected(template: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """Per component key (header, body, buttonN): the (kind, name) of each parameter a send must carry."""
    out: dict[str, list[tuple[str, str]]] = {}
    for comp in template["components"]:
        kind = comp["type"].upper()
        if kind == "HEADER":
            fmt = str(comp.get("format", "TEXT")).upper()
            if fmt.lower() in MEDIA:
                out["header"] = [(fmt.lower(), fmt.lower())]
            elif fmt == "LOCATION":
                out["header"] = [("location", "location")]
            elif names := list(dict.fromkeys(PLACEHOLDER.findall(comp.get("text", "")))):
                out["header"] = [("text", n) for n in names]
        elif kind == "BODY":
            if names := list(dict.fromkeys(PLACEHOLDER.findall(comp.get("text", "")))):
                out["body"] = [("text", n) for n in names]
        elif kind == "BUTTONS":
            for i, b in enumerate(comp["buttons"]):
                if b["type"] == "URL" and "{{" in b.get("url", ""):
                    out[f"button{i}"] = [("url", b["url"])]
                elif b["type"] == "COPY_CODE":
                    out[f"button{i}"] = [("coupon_code", "coupon_code")]
    return out


def _is_named(template: dict[str, Any]) -> bool:
    if template.get("parameter_format"):
        return str(template["parameter_format"]).upper() == "NAMED"
    names = [n for c in template["components"] for n in PLACEHOLDER.findall(c.get("text", "") or "")]
    return bool(names) and not all(n.isdigit() for n in names)


def _buttons(template: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for c in template["components"] if c["type"].upper() == "BUTTONS" for b in c["buttons"]]


# Meta's supported media types and their size limits (Cloud API reference, "Supported media types":
# https://developers.facebook.com/docs/whatsapp/cloud-api/reference/media#supported-media-types).
MB = 1024 * 1024
MEDIA_LIMITS: dict[str, int] = {
    **dict.fromkeys(("audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"), 16 * MB),
    **dict.fromkeys(
        (
            "text/plain",
            "application/pdf",
            "application/msword",
            "application/vnd.ms-excel",
            "application/vnd.ms-powerpoint",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        ),
        100 * MB,
    ),
    "image/jpeg": 5 * MB,
    "image/png": 5 * MB,
    "image/webp": 500 * 1024,  # stickers (animated; static ones 100 KB)
    "video/mp4": 16 * MB,
    "video/3gpp": 16 * MB,
}
# What a template's media header takes: images and videos as above; documents PDF only (OpenAPI spec,
# DocumentParameter: "Only PDF documents are supported for media-based message templates").
HEADER_TYPES = {
    "image": ("image/jpeg", "image/png"),
    "video": ("video/mp4", "video/3gpp"),
    "document": ("application/pdf",),
}


def check_upload(declared: str, part_type: str, size: int) -> tuple[int, str] | None:
    """POST /{phone-number-id}/media: the `type` field names a supported media type, the file part agrees, the
    file is within that type's limit. Meta answers 100 "Param file must be a file with one of the following
    types: ..." for a type it does not take and 131053 (Media upload error) for a file over the limit."""
    if declared not in MEDIA_LIMITS:
        return 100, f"Param file must be a file with one of the following types: {', '.join(MEDIA_LIMITS)}"
    part = part_type.split(";")[0].strip().lower()
    if part and part != "application/octet-stream" and part != declared:
        return 100, f"type {declared!r} does not match the file's content type {part!r}"
    if size > MEDIA_LIMITS[declared]:
        return 131053, f"file of {size} bytes is over the {MEDIA_LIMITS[declared]} bytes {declared} may have"
    return None


def check_media(kind: str, param: dict[str, Any], media_types: dict[str, str]) -> tuple[int, str] | None:
    ref = param.get(kind)
    if not isinstance(ref, dict) or len([k for k in ("id", "link") if k in ref]) != 1:
        return 131008, f"header: {kind} needs exactly one of id or link"
    if "id" in ref and str(ref["id"]) not in media_types:
        return 131009, f"header: {kind} id {ref['id']!r} was never uploaded"
    if "id" in ref and media_types[str(ref["id"])] not in HEADER_TYPES[kind]:
        return 131053, f"header: {kind} id {ref['id']!r} is a {media_types[str(ref['id'])]}, not a {kind} header"
    if "link" in ref and urlsplit(str(ref["link"])).scheme not in ("http", "https"):
        return 131009, f"header: {kind} link is not an http(s) URL"
    return None


def check_param(
    key: str, kind: str, pname: str, param: dict[str, Any], named: bool, media_types: dict[str, str]
) -> tuple[int, str] | None:
    """One parameter against what the template's component wants there."""
    if kind in MEDIA:
        if param.get("type") != kind:
            return 132012, f"{key}: expected a {kind} parameter, got {param.get('type')!r}"
        return check_media(kind, param, media_types)
    if kind == "location":
        loc = param.get("location")
        if param.get("type") != "location" or not isinstance(loc, dict):
            return 132012, f"{key}: expected a location parameter"
        for axis, bound in (("latitude", 90), ("longitude", 180)):
            try:
                if abs(float(loc.get(axis, ""))) > bound:
                    raise ValueError
            except (TypeError, ValueError):
                return 131009, f"{key}: {axis} is not a coordinate"
        return None
    if kind == "coupon_code":
        code = param.get("coupon_code")
        if param.get("type") != "coupon_code" or not isinstance(code, str) or not code.strip():
            return 131008, f"{key}: copy_code button needs a coupon_code"
        if len(code) > COUPON_MAX:
            return 132005, f"{key}: coupon_code longer than {COUPON_MAX} characters"
        return None
    if kind == "url":
        if param.get("type") != "text" or not isinstance(param.get("text"), str) or not param["text"].strip():
            return 131008, f"{key}: URL button needs its suffix as text"
        if not URL_SAFE.match(param["text"]):
            return 131009, f"{key}: URL suffix is not URL-encoded"
        return None
    ptype = param.get("type")
    if key == "body" and ptype in ("currency", "date_time"):
        return (
            None
            if isinstance(param.get(ptype), dict) and param[ptype].get("fallback_value")
            else (
                131008,
                f"{key}: {ptype} needs fallback_value",
            )
        )
    if ptype != "text" or not isinstance(param.get("text"), str):
        return 132012, f"{key}: parameter is not text"
    if not param["text"].strip():
        return 131008, f"{key}: empty parameter"
    if "\n" in param["text"] or "\t" in param["text"]:
        return 132018, f"{key}: newline or tab in parameter"
    if named and param.get("parameter_name") != pname:
        return 100, f"{key}: parameter_name {param.get('parameter_name')!r} != {pname!r}"
    return None


def check_template_send(
    template: dict[str, Any], sent: dict[str, Any], media_types: dict[str, str]
) -> tuple[int, str] | None:
    """A send's `template` object against the approved template it names (found by the caller)."""
    expected = _expected(template)
    named = _is_named(template)
    buttons = _buttons(template)
    got: dict[str, list[dict[str, Any]]] = {}
    for comp in sent.get("components") or []:
        key = comp.get("type")
        if key == "button":
            index = str(comp.get("index", ""))
            if not index.isdigit() or int(index) >= len(buttons):
                return 100, "button component: index is not a button of the template"
            want = {"URL": "url", "COPY_CODE": "copy_code", "QUICK_REPLY": "quick_reply"}.get(
                buttons[int(index)]["type"]
            )
            if comp.get("sub_type") != want:
                return 100, f"button {index}: sub_type {comp.get('sub_type')!r}, template button is {want!r}"
            if want == "quick_reply":
                continue  # an optional payload; nothing to fill
            key = f"button{index}"
        got[str(key)] = comp.get("parameters") or []
    for key in set(expected) | set(got):
        params, wanted = got.get(key, []), expected.get(key, [])
        if len(params) != len(wanted):
            if key.startswith("button") and wanted and wanted[0][0] == "coupon_code" and not params:
                return 131008, f"{key}: copy_code button needs a coupon_code"
            return 132000, f"{key}: {len(params)} parameters, template has {len(wanted)}"
        for param, (kind, pname) in zip(params, wanted, strict=True):
            if not isinstance(param, dict):
                return 100, f"{key}: parameter is not an object"
            problem = check_param(key, kind, pname, param, named, media_types)
            if problem is not None:
                return problem
    return None
