"""HTTP/2 for the fake Graph API: cleartext with prior knowledge (h2c), on the same port as HTTP/1.1.

graph.facebook.com speaks HTTP/2 and the sender multiplexes its sends over it; Meta's edge closes
connections with GOAWAY (deploys, idle limits), after which requests on streams above the
announced last stream id were not processed and go out again on a new connection. The fake takes
the connection preface, answers each stream through the same `answer()` as HTTP/1.1, and with
`goaway_after: N` (config) stops taking new streams after N answers and sends GOAWAY naming the
last stream it took once those are answered (RFC 9113 section 6.8: streams above it were not
processed, so a client may send them again on a new connection).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import h2.config
import h2.connection
import h2.events
import h2.exceptions
from h2.errors import ErrorCodes

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
Answer = Callable[[Any, str, str, dict[str, str], bytes], Awaitable[Any]]


async def serve_h2(
    state: Any, answer: Answer, drop: object, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, first: bytes
) -> None:
    """One HTTP/2 connection; `first` is what was read before the preface was recognised."""
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
    conn.initiate_connection()
    writer.write(conn.data_to_send())
    streams: dict[int, tuple[dict[str, str], bytearray]] = {}
    answered = 0
    highest = 0  # the last stream taken for processing: GOAWAY names it
    going_away = False  # no new streams are processed; GOAWAY goes out once those in flight are answered
    closed = False
    tasks: set[asyncio.Task[None]] = set()

    def goaway_if_idle() -> None:
        nonlocal closed
        if going_away and not closed and not [t for t in tasks if not t.done()]:
            closed = True
            conn.close_connection(last_stream_id=highest)

    async def respond(stream_id: int, headers: dict[str, str], body: bytes) -> None:
        nonlocal answered, going_away
        result = await answer(state, headers.get(":method", ""), headers.get(":path", ""), headers, body)
        if result is drop:
            conn.reset_stream(stream_id, ErrorCodes.CANCEL)  # accepted, but the answer never arrives
        else:
            status, payload = result
            ctype = "text/html" if payload.startswith(b"<") else "application/json"
            conn.send_headers(
                stream_id, [(":status", str(status)), ("content-type", ctype), ("content-length", str(len(payload)))]
            )
            conn.send_data(stream_id, payload, end_stream=True)
        answered += 1
        limit = int(getattr(state, "goaway_after", 0) or 0)
        going_away = going_away or bool(limit and answered >= limit)
        writer.write(conn.data_to_send())
        await writer.drain()

    def done(task: asyncio.Task[None]) -> None:
        tasks.discard(task)
        goaway_if_idle()
        with contextlib.suppress(RuntimeError, ConnectionError):
            writer.write(conn.data_to_send())

    data = first
    try:
        while True:
            if data and not closed:  # after GOAWAY frames are read and dropped until the client hangs up
                for event in conn.receive_data(data):
                    if isinstance(event, h2.events.RequestReceived):
                        streams[event.stream_id] = (dict(event.headers), bytearray())  # type: ignore[arg-type]
                    elif isinstance(event, h2.events.DataReceived):
                        streams[event.stream_id][1].extend(event.data)
                        conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                    elif isinstance(event, h2.events.StreamEnded):
                        headers, body = streams.pop(event.stream_id)
                        if going_away:
                            continue  # above the last stream GOAWAY will name: not processed, the client resends
                        highest = max(highest, event.stream_id)
                        task = asyncio.get_running_loop().create_task(respond(event.stream_id, headers, bytes(body)))
                        tasks.add(task)
                        task.add_done_callback(done)
                    elif isinstance(event, h2.events.ConnectionTerminated):
                        return
                goaway_if_idle()
                writer.write(conn.data_to_send())
                await writer.drain()
            data = await reader.read(65536)
            if not data:
                return
    except (ConnectionError, h2.exceptions.ProtocolError):
        return
    finally:
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
