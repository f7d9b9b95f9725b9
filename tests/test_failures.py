"""When the database is unreachable the user is told to try again, and the app recovers by itself."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx

from bot.config.settings import load_settings
from storage.db import make_engine
from tests.conftest import ADMIN, BOT_TOKEN, SIGNING_SECRET, RunningApp, serving
from tests.factories import add_contact


def test_database_outage_gets_a_try_again_answer_then_recovers(
    tmp_path: Path,
    fake_slack,  # type: ignore[no-untyped-def]
    sqlite_template: Path,
) -> None:
    from bot.web.server import create_asgi
    from handlers.app import create_app

    folder = tmp_path / "not-there-yet"
    url = f"sqlite:///{folder}/contactbot.db"
    settings = load_settings(
        DATABASE_URL=url,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake_slack.api_url,
        CONTACTBOT_ADMINS=ADMIN,
    )
    engine = make_engine(url)
    bolt = create_app(settings, engine)
    with serving(create_asgi(settings, engine, bolt)) as url, httpx.Client(timeout=30) as http:
        app = RunningApp(url, fake_slack, engine, settings, http)
        assert app.command("").status_code == 200  # acked at once, whatever the database does
        answer = fake_slack.wait_for("response_url")[0].body
        assert answer["response_type"] == "ephemeral"
        assert "versuche es gleich noch einmal" in answer["text"]
        assert http.get(f"{app.url}/readyz").status_code == 503
        folder.mkdir()  # the database comes back
        shutil.copy(sqlite_template, folder / "contactbot.db")
        add_contact(engine, "+4917011111111", "Wieder Da")
        fake_slack.clear()
        app.command("")
        answer = fake_slack.wait_for("response_url")[0].body
        assert "Wieder Da" in str(answer["blocks"])
        assert http.get(f"{app.url}/readyz").status_code == 200
