"""Prometheus metrics: every metric object lives here, so import, broadcast and HTTP code share one set.

Each process exposes its own counters (web processes on `GET /metrics`); Prometheus scrapes each
process and sums. Gauges that describe shared state (the broadcast queue) are read from the
database at scrape time, so every process reports the same truth and none keeps state in memory.

Other modules increment, e.g. ``metrics.IMPORTS.labels(outcome="applied").inc()`` or
``metrics.MESSAGES_FAILED.labels(error_code="131056").inc()``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from storage.db import Engine
from storage.monitoring import delivery_queue

log = logging.getLogger(__name__)

# Our own registry (not the library's global one): only what we define, no surprise collectors.
REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "contactbot_http_requests",
    "HTTP requests answered, by route template, method and status code.",
    ["route", "method", "status"],
    registry=REGISTRY,
)
HTTP_SECONDS = Histogram(
    "contactbot_http_request_seconds",
    "Time to answer an HTTP request, by route template.",
    ["route"],
    registry=REGISTRY,
)
# Slack retries (and shows an error to the user) when an ack takes more than 3 s.
SLACK_ACK_SECONDS = Histogram(
    "contactbot_slack_ack_seconds",
    "Time from a Slack request arriving to Bolt's ack response leaving.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0),
    registry=REGISTRY,
)
IMPORTS = Counter(
    "contactbot_imports",
    "CSV imports by outcome (previewed, applied, cancelled, failed).",
    ["outcome"],
    registry=REGISTRY,
)
IMPORT_ROWS = Counter(
    "contactbot_import_rows",
    "CSV rows handled by imports, by result (created, updated, unchanged, rejected).",
    ["result"],
    registry=REGISTRY,
)
MESSAGES_SENT = Counter(
    "contactbot_messages_sent",
    "WhatsApp messages accepted by the Cloud API, by kind (broadcast, reply).",
    ["kind"],
    registry=REGISTRY,
)
MESSAGES_FAILED = Counter(
    "contactbot_messages_failed",
    "WhatsApp sends that failed, by Meta error code ('network' without one).",
    ["error_code"],
    registry=REGISTRY,
)

# One app gets the webhooks of every number of the WhatsApp Business Account; only
# WHATSAPP_PHONE_NUMBER_ID's are stored, the others are acknowledged and counted here.
WEBHOOK_OTHER_NUMBER = Counter(
    "contactbot_webhook_other_number_changes",
    "WhatsApp webhook changes for another phone number of the business account (acknowledged, not stored).",
    registry=REGISTRY,
)


class BroadcastQueue(Collector):
    """`contactbot_broadcast_queue_depth{status}`: delivery rows still to send, counted at scrape time."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def describe(self) -> list[GaugeMetricFamily]:
        return [self._family()]

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = self._family()
        try:
            counts = delivery_queue(self.engine)
        except Exception as exc:  # a scrape must never fail because the database is briefly away
            log.warning("metrics: broadcast queue depth unavailable: %s", type(exc).__name__)
            return
        for status, n in counts.items():
            family.add_metric([status], n)
        yield family

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "contactbot_broadcast_queue_depth",
            "Broadcast deliveries not yet sent, by status (pending, sending).",
            labels=["status"],
        )


class _Everything(Collector):
    """This process's metrics plus, given an engine, the database-backed gauges."""

    def __init__(self, engine: Engine | None) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Any]:
        yield from REGISTRY.collect()
        if self.engine is not None:
            yield from BroadcastQueue(self.engine).collect()


def _registry(engine: Engine | None) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Everything(engine))
    return registry


def render(engine: Engine | None = None) -> bytes:
    """The text exposition served on `GET /metrics`."""
    return generate_latest(_registry(engine))


def serve_metrics(port: int, engine: Engine | None = None, addr: str = "0.0.0.0") -> int:
    """For a process without our HTTP server (e.g. `contactbot worker`): `/metrics` on its own port.

    Returns the port bound (port 0 lets the kernel pick a free one)."""
    server, _ = start_http_server(port, addr=addr, registry=_registry(engine))
    return int(server.server_port)
