"""Message templates: parsing Meta's template list, checking parameter values, building a send body."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
MEDIA_FORMATS = {"IMAGE": "image", "VIDEO": "video", "DOCUMENT": "document"}
# What the template list is asked for: Meta returns only a default subset without `fields=`.
TEMPLATE_FIELDS = "name,language,status,category,parameter_format,components,quality_score,id"
MEDIA_ID = re.compile(r"^\d{5,}$")  # an id from /{phone-number-id}/media; anything else is a link


@dataclass(frozen=True)
class TemplateParam:
    """One value a send must fill. `key` is what users and `--param` name it by."""

    key: str  # body: "1" / "first_name"; header: "header.1" / "header.image"; url button: "button.0"
    component: str  # header|body|button
    name: str  # the placeholder's name (or media kind)
    kind: str = "text"  # text|image|video|document|location|coupon (COPY_CODE button)|url (URL button)
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
    unsupported: str = ""  # why it cannot be sent from here (carousel, lto, catalog, authentication); "" = it can

    @property
    def keys(self) -> list[str]:
        return [p.key for p in self.params]


def _ordered(names: list[str]) -> list[str]:
    seen = list(dict.fromkeys(names))
    return sorted(seen, key=int) if all(n.isdigit() for n in seen) else seen


def unsupported_reason(raw: Mapping[str, Any]) -> str:
    """Why a template cannot be sent from here ("" when it can): kinds whose send needs more than values."""
    if str(raw.get("category", "")).upper() == "AUTHENTICATION":
        return "authentication"  # one-time passwords are sent by the app that makes them, not as a broadcast
    for comp in raw.get("components") or []:
        ctype = str(comp.get("type", "")).upper()
        if ctype == "CAROUSEL":
            return "carousel"
        if ctype == "LIMITED_TIME_OFFER":
            return "lto"
        for button in comp.get("buttons") or []:
            if str(button.get("type", "")).upper() in ("CATALOG", "MPM", "SPM"):
                return "catalog"
            if str(button.get("type", "")).upper() == "FLOW":
                return "flow"
        if ctype == "HEADER" and str(comp.get("format", "")).upper() == "PRODUCT":
            return "catalog"
    return ""


def _is_named(raw: Mapping[str, Any], names: list[str]) -> bool:
    """NAMED when Meta says so; without `parameter_format` the placeholders tell ({{first_name}} vs {{1}})."""
    declared = str(raw.get("parameter_format") or "").upper()
    if declared:
        return declared == "NAMED"
    return bool(names) and not all(n.isdigit() for n in names)


def parse_template(raw: Mapping[str, Any]) -> Template:
    params: list[TemplateParam] = []
    body = ""
    names: list[str] = []
    for comp in raw.get("components") or []:
        ctype = str(comp.get("type", "")).upper()
        if ctype == "HEADER":
            fmt = str(comp.get("format", "TEXT")).upper()
            if fmt in MEDIA_FORMATS:
                kind = MEDIA_FORMATS[fmt]
                params.append(TemplateParam(f"header.{kind}", "header", kind, kind))
            elif fmt == "LOCATION":
                params.append(TemplateParam("header.location", "header", "location", "location"))
            else:
                found = _ordered(PLACEHOLDER.findall(comp.get("text") or ""))
                names += found
                params += [TemplateParam(f"header.{name}", "header", name) for name in found]
        elif ctype == "BODY":
            body = comp.get("text") or ""
            found = _ordered(PLACEHOLDER.findall(body))
            names += found
            params += [TemplateParam(n, "body", n) for n in found]
        elif ctype == "BUTTONS":
            for i, button in enumerate(comp.get("buttons") or []):
                btype = str(button.get("type", "")).upper()
                if btype == "URL" and PLACEHOLDER.search(button.get("url") or ""):
                    params.append(TemplateParam(f"button.{i}", "button", "1", "url", index=i))
                elif btype == "COPY_CODE":
                    params.append(TemplateParam(f"button.{i}", "button", "coupon_code", "coupon", index=i))
    return Template(
        name=str(raw.get("name", "")),
        language=str(raw.get("language", "")),
        category=str(raw.get("category", "")),
        status=str(raw.get("status", "")),
        named=_is_named(raw, names),
        body=body,
        params=tuple(params),
        unsupported=unsupported_reason(raw),
    )


def clean_value(value: str) -> str:
    """WhatsApp rejects newlines, tabs and long runs of spaces in text parameters."""
    return re.sub(r" {4,}", "   ", re.sub(r"[\r\n\t]+", " ", value)).strip()


def check_values(template: Template, values: Mapping[str, str]) -> list[str]:
    """Problems (i18n keys with the parameter) that would make Meta answer 132000/132012: none = ok."""
    problems = [f"missing:{k}" for k in template.keys if not clean_value(values.get(k) or "")]
    problems += [f"unknown:{k}" for k in values if k not in template.keys]
    return problems


def _media(kind: str, value: str) -> dict[str, Any]:
    """A media header parameter: by the id of a file uploaded once, or by an https link."""
    ref = {"id": value} if MEDIA_ID.match(value) else {"link": value}
    return {"type": kind, kind: ref}


def _location(value: str) -> dict[str, Any]:
    """A LOCATION header from `LAT,LONG[,NAME[,ADDRESS]]`."""
    parts = [p.strip() for p in value.split(",", 3)]
    location: dict[str, Any] = {"latitude": parts[0], "longitude": parts[1] if len(parts) > 1 else ""}
    if len(parts) > 2 and parts[2]:
        location["name"] = parts[2]
    if len(parts) > 3 and parts[3]:
        location["address"] = parts[3]
    return {"type": "location", "location": location}


def _button(p: TemplateParam, value: str) -> dict[str, Any]:
    if p.kind == "coupon":
        parameter: dict[str, Any] = {"type": "coupon_code", "coupon_code": value}
        return {"type": "button", "sub_type": "copy_code", "index": str(p.index), "parameters": [parameter]}
    # Meta appends the text to the template's URL as it is: a name with spaces or "&" must be encoded
    suffix = quote(value, safe="")
    return {
        "type": "button",
        "sub_type": "url",
        "index": str(p.index),
        "parameters": [{"type": "text", "text": suffix}],
    }


def components(template: Template, values: Mapping[str, str]) -> list[dict[str, Any]]:
    """The `template.components` of a send, in the shape of Meta's examples."""
    out: list[dict[str, Any]] = []
    for part in ("header", "body"):
        parameters = []
        for p in template.params:
            if p.component != part:
                continue
            value = clean_value(values[p.key])
            if p.kind in MEDIA_FORMATS.values():
                parameters.append(_media(p.kind, value))
                continue
            if p.kind == "location":
                parameters.append(_location(value))
                continue
            item: dict[str, Any] = {"type": "text", "text": value}
            if template.named:
                item["parameter_name"] = p.name
            parameters.append(item)
        if parameters:
            out.append({"type": part, "parameters": parameters})
    out += [_button(p, clean_value(values[p.key])) for p in template.params if p.component == "button"]
    return out


def render(template: Template, values: Mapping[str, str]) -> str:
    """The body as the recipient reads it: each body placeholder replaced by its value (the contact's history)."""
    keys = {p.name: p.key for p in template.params if p.component == "body"}

    def fill(match: re.Match[str]) -> str:
        key = keys.get(match.group(1))
        return clean_value(values.get(key, "")) if key is not None else match.group(0)

    return PLACEHOLDER.sub(fill, template.body)


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
