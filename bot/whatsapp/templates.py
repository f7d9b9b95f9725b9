"""Message templates: parsing Meta's template list, checking parameter values, building a send body."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

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
