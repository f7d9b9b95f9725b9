"""Fixtures for broadcast tests (loaded with `pytest_plugins`): the fake Graph API and settings for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.config.settings import Settings, load_settings
from tests.fakes import graph_api


@pytest.fixture
def fake_graph() -> Iterator[graph_api.FakeGraph]:
    fake = graph_api.start()
    yield fake
    fake.stop()


@pytest.fixture
def wa_settings(db_url: str, fake_graph: graph_api.FakeGraph) -> Settings:
    return load_settings(
        DATABASE_URL=db_url, WHATSAPP_MAX_MPS=200, WHATSAPP_DAILY_LIMIT=0, BROADCAST_CONCURRENCY=8, **fake_graph.env()
    )
