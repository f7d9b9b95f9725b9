"""What every listener needs, built once per process and handed to Bolt through the context."""

from __future__ import annotations

from dataclasses import dataclass

from bot.config.settings import Settings
from storage.db import Engine


@dataclass(frozen=True)
class Deps:
    settings: Settings
    engine: Engine

    def __deepcopy__(self, memo: dict[int, object]) -> Deps:
        """Bolt deep-copies the context for lazy listeners; the engine and settings are shared."""
        return self
