"""The one catalog of user-visible text, German first, English second.

Texts live in `bot/i18n/catalog/<area>.py` as `DE` and `EN` dicts; every key must exist in both
(a test enforces it). Look texts up with `t(key, lang, **values)`.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from functools import lru_cache

from bot.i18n import catalog as _catalog_pkg

LANGUAGES = ("de", "en")
DEFAULT_LANGUAGE = "de"


@lru_cache(maxsize=1)
def catalog() -> dict[str, dict[str, str]]:
    merged: dict[str, dict[str, str]] = {lang: {} for lang in LANGUAGES}
    for info in pkgutil.iter_modules(_catalog_pkg.__path__):
        module = importlib.import_module(f"{_catalog_pkg.__name__}.{info.name}")
        for lang in LANGUAGES:
            texts: dict[str, str] = getattr(module, lang.upper())
            clash = merged[lang].keys() & texts.keys()
            if clash:
                raise RuntimeError(f"i18n keys defined twice: {sorted(clash)}")
            merged[lang].update(texts)
    return merged


def lang_for(locale: str | None) -> str:
    """Slack locale (`de-DE`, `en-US`, ...) to a catalog language; German unless it is English."""
    if locale and locale.lower().startswith("en"):
        return "en"
    return DEFAULT_LANGUAGE


def t(key: str, lang: str = DEFAULT_LANGUAGE, /, **values: object) -> str:
    texts = catalog()
    text = texts.get(lang, texts[DEFAULT_LANGUAGE]).get(key) or texts[DEFAULT_LANGUAGE].get(key)
    if text is None:
        raise KeyError(f"missing i18n key {key!r}")
    return text.format(**values) if values else text


def number(value: int, lang: str) -> str:
    """Thousands separators as each language writes them (12.345 / 12,345)."""
    formatted = f"{value:,}"
    return formatted.replace(",", ".") if lang == "de" else formatted


def total(value: int, more: bool, lang: str) -> str:
    """A count that may have stopped at a cap: `12.345`, or `mehr als 10.000` when there are more."""
    return t("list.total_more", lang, n=number(value, lang)) if more else number(value, lang)


def cli_language(environ: Mapping[str, str]) -> str:
    """The command line's one language setting: CONTACTBOT_LANG, else the POSIX locale (LC_ALL, LC_MESSAGES,
    LANG, the first one set wins); `de*` is German, anything else English (a terminal is not a German Slack
    workspace: with no hint, English is the safer guess)."""
    explicit = environ.get("CONTACTBOT_LANG", "").strip().lower()
    if explicit:
        return "de" if explicit.startswith("de") else "en"
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name, "").strip()
        if value:
            return "de" if value.lower().startswith("de") else "en"
    return "en"
