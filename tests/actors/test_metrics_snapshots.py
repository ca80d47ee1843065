"""The minute's snapshot: one row per tick, however many schedulers sent it, in both stores; and gauges."""

from __future__ import annotations

import datetime as dt
import time

import dramatiq
import pytest
from prometheus_client import REGISTRY

from actors.metrics_snapshots import collect_metrics, tick_minute
from schedules import METRICS_SNAPSHOT
from zapq.analytics.duckdb_file import open_file
from zapq.keyspace import dead_letter_key, delay_queue_key
from zapq.queues import QUEUES
from zapq.settings import get_settings


@pytest.fixture
def analytics_file(monkeypatch: pytest.MonkeyPatch, tmp_path):  # type: ignore[no-untyped-def]
    path = tmp_path / "analytics.duckdb"
    monkeypatch.setenv("DUCKDB_PATH", str(path))
    get_settings.cache_clear()
    return path


def duckdb_snapshots(path) -> list[tuple]:  # type: ignore[no-untyped-def]
    if not path.exists():
        return []
    with open_file(path, read_only=True, wait_s=10.0) as duck:
        return duck.execute(
            "SELECT scheduled_at, delayed_depths['default'], dead_letter_depths['low_priority']"
            " FROM metrics_snapshots"
        ).fetchall()


def test_two_schedulers_ticks_make_one_run_one_row_in_postgresql_and_duckdb_and_the_gauges(
    analytics_file, broker, redis_client, db, wait_until
):
    namespace = broker.namespace
    redis_client.rpush(delay_queue_key(namespace, "default"), "m1", "m2")  # two retries waiting
    redis_client.zadd(dead_letter_key(namespace, "low_priority"), {"dead-1": time.time() * 1000})
    tick = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0).isoformat()

    dropped_before = dropped_duplicates()
    # As two periodiq schedulers send it: the tick in the message options, no argument.
    collect_metrics.send_with_options(scheduled_at=tick)
    collect_metrics.send_with_options(scheduled_at=tick)
    worker = dramatiq.Worker(
        broker, worker_threads=2, worker_timeout=100, queues={"low_priority", "analytics"}
    )
    worker.start()
    try:
        broker.join("low_priority", timeout=10_000)
        wait_until(lambda: len(duckdb_snapshots(analytics_file)) == 1, timeout=10, what="the DuckDB row")
        broker.join("analytics", timeout=10_000)
        worker.join()
    finally:
        worker.stop()

    rows = db.execute(
        "SELECT scheduled_at, queue_depths, dead_letter_depths FROM metrics_snapshots"
    ).fetchall()
    assert len(rows) == 1 and dropped_duplicates() == dropped_before + 1  # one ran, one was dropped
    assert set(rows[0][1]) == set(QUEUES)
    assert duckdb_snapshots(analytics_file) == [(dt.datetime.fromisoformat(tick), 2, 1)]
    assert (
        REGISTRY.get_sample_value("zapq_queue_messages", {"queue_name": "default", "state": "delayed"}) == 2
    )
    assert (
        REGISTRY.get_sample_value("zapq_queue_messages", {"queue_name": "low_priority", "state": "dead"}) == 1
    )
    assert REGISTRY.get_sample_value("zapq_analytics_unexported_turns") == 0


def dropped_duplicates() -> float:
    labels = {"actor_name": "collect_metrics", "outcome": "dedup_dropped"}
    return REGISTRY.get_sample_value("zapq_flow_decisions_total", labels) or 0.0


def test_a_tick_is_keyed_on_its_minute_whatever_its_seconds_or_time_zone():
    assert tick_minute(("2026-12-01T04:20:00+00:00",), {}) == "2026-12-01T04:20"
    assert tick_minute((), {"scheduled_at": "2026-12-01T01:20:07-03:00"}) == "2026-12-01T04:20"


def test_a_message_sent_without_a_tick_gets_the_current_minute_as_its_argument(broker):
    message = collect_metrics.message()
    sent = collect_metrics.send_with_options()  # periodiq and callers both go through send_with_options
    tick = dt.datetime.fromisoformat(sent.kwargs["scheduled_at"])

    assert message.kwargs == {} and tick.second == 0
    assert abs(dt.datetime.now(dt.UTC) - tick) < dt.timedelta(minutes=2)


def test_the_snapshot_runs_on_the_schedule_named_in_schedules():
    assert collect_metrics.options["periodic"] is METRICS_SNAPSHOT
