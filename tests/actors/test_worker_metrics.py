"""The worker's Prometheus exposition, from real `dramatiq actors` processes."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import httpx
import psycopg

from actors.webhook_events import store_webhook_events


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_worker_exposes_dramatiq_message_counts(worker_process, db: psycopg.Connection, wait_until):
    port = free_port()
    worker_process("actors", processes=2, threads=2, env={"METRICS_PORT": str(port)})
    # Other processes of this test session may have counted this actor already; count from here.
    wait_until(lambda: processed_count(port) is not None, timeout=15, what="the exposition server")
    baseline = processed_count(port)
    assert baseline is not None
    for number in range(3):
        event = {"event_id": f"e{number}", "unique_id": f"u{number}", "message": "oi"}
        store_webhook_events.send({**event, "received_at": datetime.now(UTC).isoformat()})
    wait_until(lambda: db.execute("SELECT count(*) FROM webhook_events").fetchone()[0] == 3, timeout=15)

    wait_until(
        # Events are merged into their debounce windows at send: workers process only the batches.
        lambda: processed_count(port) == baseline + 3,
        timeout=15,
        what="dramatiq_messages_total to count 3 more",
    )


def processed_count(port: int) -> float | None:
    """dramatiq_messages_total for store_webhook_events, or None while the endpoint does not answer."""
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
    except httpx.HTTPError:
        return None
    for line in text.splitlines():
        if line.startswith("dramatiq_messages_total{") and 'actor_name="store_webhook_events"' in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0
