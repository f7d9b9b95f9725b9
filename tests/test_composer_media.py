"""Issue 15 item 7: a media header (image, video, document) from a Slack file, uploaded to WhatsApp once.

Through the real server with signed requests: the composer's parameters step offers a file input for a media
header; the file (picked there, or a file shared in a channel named by its link) is read with files.info,
downloaded with the bot token (the fake Slack serves it only so), uploaded once to `/{phone-number-id}/media`
(the fake Graph API checks the multipart form, the type and the size like Meta) and every send names it by id.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bot.config.settings import Settings
from bot.services.broadcasts import service
from bot.services.broadcasts.sender import Runner
from bot.whatsapp.client import GraphClient
from bot.whatsapp.errors import WhatsAppError
from handlers.list_state import ListState, join
from tests.blockkit import check_view
from tests.broadcast_helpers import add_reachable, phone
from tests.conftest import ADMIN, BOT_TOKEN, RunningApp, block_actions, select_value, text_value, view_submission
from tests.fakes.graph_api import DEFAULT_TEMPLATES, FakeGraph
from tests.fakes.slack_api import FakeSlack
from tests.webhooks import webhook_settings

pytest_plugins = ("tests.broadcast_fixtures",)

PNG = b"\x89PNG\r\n\x1a\n" + b"banner" * 200
PDF = b"%PDF-1.4\n" + b"flyer" * 200
TEMPLATES: list[dict[str, Any]] = [
    *DEFAULT_TEMPLATES,
    {
        "name": "bild",
        "language": "de",
        "status": "APPROVED",
        "category": "MARKETING",
        "id": "21",
        "components": [{"type": "HEADER", "format": "IMAGE"}, {"type": "BODY", "text": "Hallo {{1}}!"}],
    },
    {
        "name": "flyer",
        "language": "de",
        "status": "APPROVED",
        "category": "UTILITY",
        "id": "22",
        "components": [{"type": "HEADER", "format": "DOCUMENT"}, {"type": "BODY", "text": "Unser Flyer, {{1}}."}],
    },
]


@pytest.fixture
def settings(db_url: str, fake_slack: FakeSlack, fake_graph: FakeGraph) -> Settings:
    fake_graph.configure(templates=TEMPLATES)
    return webhook_settings(db_url, fake_slack, WHATSAPP_DAILY_LIMIT=0, **fake_graph.env())


def _share(fake: FakeSlack, file_id: str, name: str, data: bytes, mimetype: str, size: int | None = None) -> None:
    """A file in Slack: what files.info answers, and its bytes behind url_private_download."""
    fake.files[name] = (data, mimetype)
    fake.file_infos[file_id] = {
        "id": file_id,
        "name": name,
        "mimetype": mimetype,
        "filetype": name.rsplit(".", 1)[-1],
        "size": len(data) if size is None else size,
        "url_private": f"{fake.base}/files/{name}",
        "url_private_download": f"{fake.base}/files/{name}",
    }


def _params_view(app: RunningApp, template: str, test: str = "") -> dict[str, Any]:
    action = {"type": "button", "action_id": "list_notify", "value": "notify", "block_id": join("acts", ListState())}
    action["action_ts"] = "1"
    assert (
        app.interact(block_actions(action, user=ADMIN, response_url=app.fake.response_url("list"))).status_code == 200
    )
    pick = app.fake.wait_for("views.update")[-1].body["view"]
    values = {
        "tpl": select_value(template),
        "aud": select_value("all"),
        "when": {"v": {"type": "radio_buttons", "selected_option": {"value": "now"}}},
        "at": {"v": {"type": "datetimepicker", "selected_date_time": None}},
        "test": text_value(test),
    }
    view = _submit(app, pick, values)["view"]
    check_view(view)
    return view


def _submit(app: RunningApp, view: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    response = app.interact(view_submission(view, values))
    assert response.status_code == 200
    return response.json() if response.content else {}


def _picked(*file_ids: str) -> dict[str, Any]:
    files = [{"id": f, "name": "x"} for f in file_ids]
    return {"v": {"type": "file_input", "files": files}}


def _send_all(app: RunningApp) -> None:
    app.fake.wait_for("chat.postMessage")  # the report: the broadcast exists
    Runner(app.settings, app.engine).run_forever(poll=0.05, until_idle=True)


def test_an_image_picked_in_the_composer_is_uploaded_once_and_sent_by_id(
    running_app: RunningApp, fake_graph: FakeGraph
) -> None:
    add_reachable(running_app.engine, 3)
    _share(running_app.fake, "F0BANNER01", "banner.png", PNG, "image/png")
    params = _params_view(running_app, "bild|de")
    file_block = next(b for b in params["blocks"] if b.get("block_id") == "file:header.image")
    assert file_block["element"]["type"] == "file_input" and "png" in file_block["element"]["filetypes"]
    answer = _submit(
        running_app,
        params,
        {
            "src:header.image": select_value("text"),
            "val:header.image": text_value(""),
            "file:header.image": _picked("F0BANNER01"),
            "src:1": select_value("name"),
            "val:1": text_value("Kunde"),
        },
    )
    confirm = answer["view"]
    check_view(confirm)
    assert confirm["callback_id"] == "bc_confirm" and "*3* Empfänger" in confirm["blocks"][0]["text"]["text"]
    assert fake_graph.stats()["media_ids"] == []  # no test message: nothing uploaded before Send
    _submit(running_app, confirm, {})
    _send_all(running_app)
    stats = fake_graph.stats()
    assert stats["invalid"] == [] and stats["counts"] == {phone(i): 1 for i in range(3)}
    assert list(stats["media_types"].values()) == ["image/png"]  # one upload for three sends
    downloads = running_app.fake.of("download")
    assert len(downloads) == 1 and downloads[0].headers["authorization"] == f"Bearer {BOT_TOKEN}"


def test_a_pdf_shared_in_a_channel_is_named_by_its_link_and_the_test_message_uses_the_same_upload(
    running_app: RunningApp, fake_graph: FakeGraph
) -> None:
    add_reachable(running_app.engine, 2)
    _share(running_app.fake, "F0FLYER001", "flyer.pdf", PDF, "application/pdf")
    params = _params_view(running_app, "flyer|de", test="0170 5550001")
    link = "https://acme.slack.com/files/U0ADMIN/F0FLYER001/flyer.pdf"
    answer = _submit(
        running_app,
        params,
        {
            "src:header.document": select_value("text"),
            "val:header.document": text_value(link),
            "src:1": select_value("name"),
            "val:1": text_value("Kunde"),
        },
    )
    confirm = answer["view"]
    assert "Testnachricht an +49 170 5550001 gesendet" in confirm["blocks"][0]["text"]["text"]
    assert list(fake_graph.stats()["media_types"].values()) == ["application/pdf"]
    _submit(running_app, confirm, {})
    _send_all(running_app)
    stats = fake_graph.stats()
    assert stats["invalid"] == [] and sum(stats["counts"].values()) == 3  # the test message and two recipients
    assert len(stats["media_ids"]) == 1  # the broadcast reused the test message's upload


def test_a_file_whatsapp_would_not_take_is_refused_before_anything_is_uploaded(
    running_app: RunningApp, fake_graph: FakeGraph
) -> None:
    add_reachable(running_app.engine, 1)
    _share(running_app.fake, "F0ANIM0001", "anim.gif", b"GIF89a....", "image/gif")
    _share(running_app.fake, "F0HUGE0001", "huge.png", PNG, "image/png", size=6 * 1024 * 1024)
    for file_id, expected in (("F0ANIM0001", "passt nicht als Bild"), ("F0HUGE0001", "höchstens 5 MB")):
        params = _params_view(running_app, "bild|de", test="0170 5550001")
        answer = _submit(
            running_app,
            params,
            {
                "src:header.image": select_value("text"),
                "val:header.image": text_value(""),
                "file:header.image": _picked(file_id),
                "src:1": select_value("name"),
                "val:1": text_value("Kunde"),
            },
        )
        assert expected in answer["view"]["blocks"][0]["text"]["text"]
    assert running_app.fake.of("download") == [] and fake_graph.stats()["media_ids"] == []
    assert fake_graph.stats()["requests"] == 0


def test_the_fakes_guard_the_file_and_the_upload_like_slack_and_meta(
    fake_slack: FakeSlack, fake_graph: FakeGraph, wa_settings: Settings
) -> None:
    fake_graph.configure(templates=TEMPLATES)
    fake_slack.files["banner.png"] = (PNG, "image/png")
    anonymous = httpx.get(f"{fake_slack.base}/files/banner.png", timeout=10)  # Slack: the login page, status 200
    assert anonymous.status_code == 200 and anonymous.headers["content-type"].startswith("text/html")
    with_token = httpx.get(
        f"{fake_slack.base}/files/banner.png", headers={"Authorization": f"Bearer {BOT_TOKEN}"}, timeout=10
    )
    assert with_token.content == PNG
    client = GraphClient(wa_settings)
    try:
        for content, mime, code in (
            (b"GIF89a", "image/gif", 100),  # not a type WhatsApp takes
            (b"\x89PNG" + b"0" * (5 * 1024 * 1024), "image/png", 131053),  # an image over 5 MB
        ):
            with pytest.raises(WhatsAppError) as refused:
                client.upload_media(content, mime, "x")
            assert refused.value.code == code
        pdf = client.upload_media(PDF, "application/pdf", "flyer.pdf")
    finally:
        client.close()
    tpl = service.find_template(wa_settings, "bild", "de")
    params = {"header.image": service.ParamSource(text=pdf), "1": service.ParamSource(text="Anna")}
    with pytest.raises(service.BroadcastError) as wrong_kind:  # a PDF's id as an image header: Meta refuses
        service.test_send(wa_settings, tpl, params, "+491705550001")
    assert wrong_kind.value.values["code"] == 131053
