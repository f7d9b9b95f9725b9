"""Issue 15, templates and the CLI contract: every approved template is sendable or named as not offered.

The fake Graph API checks every component kind the way Meta's reference describes it
(tests/fakes/graph_rules.py); each test drives the real client, runner or CLI against it.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from bot.cli import main
from bot.config.settings import Settings
from bot.services.broadcasts import service
from bot.services.broadcasts.sender import Runner
from bot.whatsapp.client import GraphClient
from bot.whatsapp.templates import send_body
from storage.models import Broadcast
from tests.broadcast_helpers import add_reachable, phone, set_attribute
from tests.fakes import graph_api

pytest_plugins = ("tests.broadcast_fixtures",)

EXTRA: list[dict[str, Any]] = [
    {
        "name": "gutschein",
        "language": "de",
        "status": "APPROVED",
        "category": "MARKETING",
        "id": "11",
        "components": [
            {"type": "HEADER", "format": "IMAGE"},
            {"type": "BODY", "text": "Hallo {{1}}, hier Ihr Gutschein."},
            {
                "type": "BUTTONS",
                "buttons": [
                    {"type": "COPY_CODE", "example": "SOMMER25"},
                    {"type": "URL", "text": "Zum Shop", "url": "https://example.com/kunde/{{1}}"},
                ],
            },
        ],
    },
    {
        "name": "filiale",
        "language": "de",
        "status": "APPROVED",
        "category": "UTILITY",
        "id": "12",
        "components": [{"type": "HEADER", "format": "LOCATION"}, {"type": "BODY", "text": "Wir sind hier, {{1}}."}],
    },
    {
        "name": "ohne_format",  # no parameter_format in the answer: the placeholders say NAMED
        "language": "de",
        "status": "APPROVED",
        "category": "UTILITY",
        "id": "13",
        "components": [{"type": "BODY", "text": "Hallo {{vorname}}!"}],
    },
    {
        "name": "karussell",
        "language": "de",
        "status": "APPROVED",
        "category": "MARKETING",
        "id": "14",
        "components": [{"type": "BODY", "text": "Neu"}, {"type": "CAROUSEL", "cards": []}],
    },
    {
        "name": "einmalcode",
        "language": "de",
        "status": "APPROVED",
        "category": "AUTHENTICATION",
        "id": "15",
        "components": [{"type": "BODY", "text": "{{1}} ist Ihr Code."}],
    },
    {
        "name": "reminder",
        "language": "en_US",
        "status": "APPROVED",
        "category": "UTILITY",
        "id": "16",
        "components": [{"type": "BODY", "text": "Hi {{1}}"}],
    },
]


@pytest.fixture
def more_templates(fake_graph: graph_api.FakeGraph) -> None:
    fake_graph.configure(templates=[*graph_api.DEFAULT_TEMPLATES, *EXTRA])


def _run(settings: Settings, engine: Engine) -> None:
    Runner(settings, engine).run_forever(poll=0.05, until_idle=True)


def _send(settings: Settings, name: str, comps: list[dict[str, Any]]) -> str:
    client = GraphClient(settings)
    try:
        response = client.http.post(
            f"{settings.whatsapp_api_url}/{settings.whatsapp_phone_number_id}/messages",
            json=send_body("+4917012345678", name, "de", comps),
            headers={"Authorization": f"Bearer {settings.whatsapp_token}"},
        )
        return str(response.json().get("error", {}).get("code", "ok"))
    finally:
        client.close()


def test_the_fake_checks_each_component_kind_like_meta(
    more_templates: None, wa_settings: Settings, fake_graph: graph_api.FakeGraph
) -> None:
    body = {"type": "body", "parameters": [{"type": "text", "text": "Anna"}]}
    coupon = {"type": "button", "sub_type": "copy_code", "index": "0", "parameters": []}
    coupon_ok = coupon | {"parameters": [{"type": "coupon_code", "coupon_code": "SOMMER25"}]}
    url = {"type": "button", "sub_type": "url", "index": "1", "parameters": [{"type": "text", "text": "Anna"}]}
    image = {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://example.com/a.jpg"}}]}
    assert _send(wa_settings, "gutschein", [image, body, coupon_ok, url]) == "ok"  # a correct media header
    assert _send(wa_settings, "gutschein", [image, body, coupon, url]) == "131008"  # coupon without its code
    assert _send(wa_settings, "gutschein", [image, body, url]) == "131008"
    raw = url | {"parameters": [{"type": "text", "text": "Gonçalves & Söhne"}]}
    assert _send(wa_settings, "gutschein", [image, body, coupon_ok, raw]) == "131009"
    unknown_id = {"type": "header", "parameters": [{"type": "image", "image": {"id": "4242424242"}}]}
    assert _send(wa_settings, "gutschein", [unknown_id, body, coupon_ok, url]) == "131009"
    where = {
        "type": "header",
        "parameters": [{"type": "location", "location": {"latitude": "52.5", "longitude": "13.4"}}],
    }
    assert _send(wa_settings, "filiale", [where, body]) == "ok"


def test_coupon_url_suffix_and_an_uploaded_image_go_out_in_a_broadcast(
    more_templates: None, engine: Engine, wa_settings: Settings, fake_graph: graph_api.FakeGraph
) -> None:
    ids = add_reachable(engine, 3)
    set_attribute(engine, "firma", {cid: "Gonçalves & Söhne" for cid in ids})
    client = GraphClient(wa_settings)
    media_id = client.upload_media(b"\x89PNG fake", "image/png", "banner.png")  # once, for every send
    client.close()
    assert media_id in fake_graph.stats()["media_ids"]
    tpl = service.find_template(wa_settings, "gutschein", "de")
    assert tpl.keys == ["header.image", "1", "button.0", "button.1"]
    raw = {"header.image": media_id, "1": "contact:name", "button.0": "SOMMER25", "button.1": "attr:firma"}
    params = service.resolve_sources(engine, {k: service.ParamSource.parse(v) for k, v in raw.items()})
    row, _ = service.create(
        engine, wa_settings, service.Draft(tpl, params, service.AudienceSpec(), created_by="cli:test")
    )
    _run(wa_settings, engine)
    report = service.report(engine, row.id or 0)
    assert report.counts == {"sent": 3}, fake_graph.stats()["invalid"]
    assert fake_graph.stats()["counts"] == {phone(i): 1 for i in range(3)}


def test_a_location_header_and_inferred_named_parameters_are_sent(
    more_templates: None, engine: Engine, wa_settings: Settings, fake_graph: graph_api.FakeGraph
) -> None:
    add_reachable(engine, 2)
    for name, raw in (
        ("filiale", {"header.location": "52.52,13.40,Filiale Mitte,Unter den Linden 1", "1": "contact:name"}),
        ("ohne_format", {"vorname": "contact:name"}),
    ):
        tpl = service.find_template(wa_settings, name, "de")
        params = {k: service.ParamSource.parse(v) for k, v in raw.items()}
        row, _ = service.create(
            engine, wa_settings, service.Draft(tpl, params, service.AudienceSpec(), created_by="cli:test")
        )
        _run(wa_settings, engine)
        assert service.report(engine, row.id or 0).counts == {"sent": 2}, fake_graph.stats()["invalid"]
    assert service.find_template(wa_settings, "ohne_format", "de").named


def test_the_template_list_asks_for_its_fields_and_names_what_is_not_offered(
    more_templates: None, cli_env: dict[str, str], fake_graph: graph_api.FakeGraph, capsys: pytest.CaptureFixture
) -> None:
    assert main(["templates"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert "carousel" in lines["karussell"] and "authentication" in lines["einmalcode"]
    assert "not sendable" not in lines["gutschein"]
    queries = fake_graph.stats()["template_queries"]
    assert queries and all(
        {"name", "language", "status", "category", "parameter_format", "components", "quality_score"}
        <= set(q["fields"].split(","))
        for q in queries
    )
    code = main(["broadcast", "send", "--template", "karussell", "--lang", "de", "--yes"])
    assert code == 2 and "carousel" in capsys.readouterr().err


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, db_url: str, fake_graph: graph_api.FakeGraph) -> dict[str, str]:
    env = {
        "DATABASE_URL": db_url,
        "WHATSAPP_MAX_MPS": "200",
        "WHATSAPP_DAILY_LIMIT": "0",
        "BROADCAST_CONCURRENCY": "4",
        "SLACK_BOT_TOKEN": "",
        "CONTACTBOT_LANG": "en",
        **fake_graph.env(),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def test_lang_on_broadcast_send_is_the_template_language_and_the_output_follows_the_locale(
    more_templates: None,
    cli_env: dict[str, str],
    engine: Engine,
    fake_graph: graph_api.FakeGraph,
    capsys: pytest.CaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    add_reachable(engine, 2)
    args = ["broadcast", "send", "--template", "reminder", "--param", "1=contact:name", "--yes"]
    assert main([*args, "--lang", "en_US"]) == 0  # as the README documents it
    capsys.readouterr()
    assert sum(fake_graph.stats()["counts"].values()) == 2
    monkeypatch.delenv("CONTACTBOT_LANG")
    monkeypatch.setenv("LANG", "de_DE.UTF-8")
    assert main([*args, "--lang-code", "en_US", "--key", "zwei"]) == 0
    german = capsys.readouterr().out
    monkeypatch.setenv("LANG", "en_GB.UTF-8")
    assert main([*args, "--lang-code", "en_US", "--key", "drei"]) == 0
    english = capsys.readouterr().out
    assert german != english and "Empfänger" in german and "Empfänger" not in english


def test_an_unknown_attribute_key_is_refused_before_anything_is_created(
    more_templates: None,
    cli_env: dict[str, str],
    engine: Engine,
    fake_graph: graph_api.FakeGraph,
    capsys: pytest.CaptureFixture,
) -> None:
    ids = add_reachable(engine, 2)
    set_attribute(engine, "kundennr", {ids[0]: "K1", ids[1]: "K2"})
    base = ["broadcast", "send", "--template", "reminder", "--lang", "en_US", "--yes"]
    assert main([*base, "--param", "1=attr:kundenummer"]) == 2
    err = capsys.readouterr().err
    assert "kundenummer" in err and "attr:kundennr" in err and "contact:name" in err
    assert main([*base, "--param", "1=contact:vorname"]) == 2
    assert "vorname" in capsys.readouterr().err
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Broadcast)) == 0
    assert fake_graph.stats()["requests"] == 0
    assert main([*base, "--param", "1=attr:name", "--key", "n"]) == 0  # the contact's own name
    assert main([*base, "--param", "1=contact:name", "--key", "c"]) == 0
    assert sum(fake_graph.stats()["counts"].values()) == 4


def test_a_header_file_is_uploaded_once_and_every_send_names_it_by_id(
    more_templates: None,
    cli_env: dict[str, str],
    engine: Engine,
    fake_graph: graph_api.FakeGraph,
    tmp_path: Any,
) -> None:
    add_reachable(engine, 3)
    picture = tmp_path / "banner.png"
    picture.write_bytes(b"\x89PNG fake picture")
    args = ["broadcast", "send", "--template", "gutschein", "--lang", "de", "--yes"]
    params = [f"header.image=file:{picture}", "1=contact:name", "button.0=SOMMER25", "button.1=Gonçalves & Söhne"]
    assert main([*args, *(x for p in params for x in ("--param", p))]) == 0
    stats = fake_graph.stats()
    assert len(stats["media_ids"]) == 1 and stats["invalid"] == []
    assert stats["counts"] == {phone(i): 1 for i in range(3)}
