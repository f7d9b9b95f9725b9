"""`/contacts` through the real HTTP server with signed requests; the answer lands at the response_url."""

from __future__ import annotations

from tests.blockkit import check_blocks
from tests.conftest import RunningApp
from tests.factories import add_contact, add_many


def _sections(body: dict) -> list[dict]:
    return [b for b in body["blocks"] if b.get("block_id", "").startswith("row")]


def test_contacts_command_shows_active_contacts_ephemerally(running_app: RunningApp) -> None:
    add_many(running_app.engine, 3)
    add_contact(running_app.engine, "+4915112345678", "Inaktiv Ina", active=False)
    response = running_app.command("")
    assert response.status_code == 200
    answer = running_app.fake.wait_for("response_url")[0].body
    assert answer["response_type"] == "ephemeral"
    check_blocks(answer["blocks"])
    rows = _sections(answer)
    assert len(rows) == 3
    assert "Kontakt 002" in rows[0]["text"]["text"]  # sorted by last chat, newest first
    assert "Inaktiv Ina" not in str(answer["blocks"])
    header = answer["blocks"][0]["text"]["text"]
    assert "1–3 von 3" in header and "aktiv" in header and "letzter Chat ▼" in header
