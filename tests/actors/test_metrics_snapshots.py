"""The periodic snapshot of queue depths: one row per tick, however many schedulers sent it."""

from __future__ import annotations

from actors.metrics_snapshots import collect_metrics
from schedules import METRICS_SNAPSHOT


def test_a_tick_records_queue_depths_once_even_when_two_schedulers_send_it(broker, worker, db, wait_until):
    tick = "2026-12-01T04:20:00+00:00"
    collect_metrics.send(tick)
    collect_metrics.send(tick)

    broker.join("low_priority", timeout=10_000)
    worker.join()
    rows = db.execute("SELECT scheduled_at, queue_depths FROM metrics_snapshots").fetchall()
    assert len(rows) == 1
    assert set(rows[0][1]) == {"high_priority", "default", "low_priority"}


def test_the_snapshot_runs_on_the_schedule_named_in_schedules():
    assert collect_metrics.options["periodic"] is METRICS_SNAPSHOT
