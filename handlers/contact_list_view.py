"""Render the contact list for a state: one query, one message; used by the command and every click."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.contacts import list_contacts
from bot.deps import Deps
from handlers.blocks.contact_list import contact_list
from handlers.list_state import ListState
from storage.contacts import PageRequest


def render(
    deps: Deps,
    state: ListState,
    lang: str,
    *,
    after: int | None = None,
    before: int | None = None,
    notice: str | None = None,
) -> dict[str, Any]:
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
        shown = replace(state, start_id=page.first_id, offset=max(offset, limit if page.has_prev else 0))
    return contact_list(page, shown, lang, notice)
