"""The text catalog: every key in German and English, with the same placeholders, and every key used exists."""

from __future__ import annotations

import importlib
import pkgutil
import re
import string
from pathlib import Path

import pytest

from bot.i18n import LANGUAGES, catalog, lang_for, t

catalog_pkg = importlib.import_module("bot.i18n.catalog")  # the package (the name `catalog` is the merger)

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted(info.name for info in pkgutil.iter_modules(catalog_pkg.__path__))
USED_KEY = re.compile(r"""\bt\(\s*["']([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+)["']""")


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


@pytest.mark.parametrize("name", MODULES)
def test_every_key_exists_in_german_and_english(name: str) -> None:
    module = importlib.import_module(f"{catalog_pkg.__name__}.{name}")
    de, en = module.DE, module.EN
    assert sorted(de.keys() - en.keys()) == [], f"{name}: only in German"
    assert sorted(en.keys() - de.keys()) == [], f"{name}: only in English"
    assert all(isinstance(v, str) and v.strip() for v in [*de.values(), *en.values()]), f"{name}: empty text"


@pytest.mark.parametrize("name", MODULES)
def test_german_and_english_have_the_same_placeholders(name: str) -> None:
    module = importlib.import_module(f"{catalog_pkg.__name__}.{name}")
    differ = {
        key: (placeholders(module.DE[key]), placeholders(module.EN[key]))
        for key in module.DE.keys() & module.EN.keys()
        if placeholders(module.DE[key]) != placeholders(module.EN[key])
    }
    assert differ == {}, f"{name}: placeholders differ"


def test_catalog_merges_without_duplicate_keys() -> None:
    merged = catalog()
    assert set(merged) == set(LANGUAGES) and merged["de"].keys() == merged["en"].keys()


def test_every_literal_key_in_the_code_exists() -> None:
    known = catalog()["de"].keys()
    missing = {}
    for folder in ("bot", "handlers"):
        for path in (ROOT / folder).rglob("*.py"):
            for key in USED_KEY.findall(path.read_text(encoding="utf-8")):
                if key not in known:
                    missing[key] = str(path.relative_to(ROOT))
    assert missing == {}


def test_language_follows_the_slack_locale_german_first() -> None:
    assert lang_for("en-US") == "en" and lang_for("de-AT") == "de" and lang_for("fr-FR") == "de"
    assert lang_for(None) == "de"
    assert t("home.title", "en") == "Contacts at a glance" and t("home.title", "fr") == t("home.title", "de")
