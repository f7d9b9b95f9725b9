"""Render the contact list for a state: one query, one message; used by the command and every click."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.domain.contacts import PageRequest
from bot.services import audiences
from bot.services.contacts import attribute_values, list_contacts
from bot.services.table_settings import layout
from handlers.blocks.contact_list import contact_list
from handlers.deps import Deps
from handlers.integrity import Sealer
from handlers.list_state import ListState


def render(
    deps: Deps,
    state: ListState,
    lang: str,
    *,
    viewer: tuple[str | None, str | None] = (None, None),
    after: int | None = None,
    before: int | None = None,
    notice: str | None = None,
) -> dict[str, Any]:
    """`viewer` is (team_id, user_id): whose table settings pick the columns; the team also seals
    the rows' menu values (handlers/integrity.py)."""
    limit = deps.settings.page_size
    req = PageRequest(
        sort=state.sort,
        desc=state.desc,
        after_id=after,
        before_id=before,
        start_id=None if (after or before) else state.start_id,
        limit=limit,
    )
    page = list_contacts(deps.engine, state.contact_filter(), req, deps.settings.default_region)
    offset = state.offset
    if after is not None:
        offset += limit
    elif before is not None:
        offset = max(offset - limit, 0)
    if not page.has_prev:
        shown = replace(state, start_id=None, offset=0)
    else:
        shown = replace(state, start_id=page.first_id, offset=max(offset, limit))
    columns = layout(deps.engine, viewer[0] or "", viewer[1] or "", lang).visible
    values = {}
    if any(c.attribute_id for c in columns):
        values = attribute_values(deps.engine, [c.id for c in page.rows if c.id is not None])
    return contact_list(
        page,
        shown,
        lang,
        notice,
        columns=columns,
        values=values,
        audiences=audiences.names(deps.engine),
        seal=Sealer.of(deps.settings, viewer[0]).seal,
    )
