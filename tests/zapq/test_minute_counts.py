"""The workers' per-minute counts: tallied in memory, added to Redis, kept through an outage."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import redis

from zapq.keyspace import minute_counts_key
from zapq.minute_counts import KEEP_MINUTES, MINUTE_MS, MinuteCounts, MinuteTotals, minute_of, span_minutes

NAMESPACE = "tenant"


def booted_counts(client: redis.Redis) -> tuple[MinuteCounts, Any]:
    counts = MinuteCounts(namespace=NAMESPACE, flush_interval_s=3600)  # flushed by hand below
    broker = SimpleNamespace(actors={"charge": None}, client=client)
    counts.after_worker_boot(broker, None)  # type: ignore[arg-type]
    return counts, broker


def stored_counts(client: redis.Redis) -> dict[str, int]:
    """Every minute's fields, summed (a test may straddle two minutes)."""
    summed: dict[str, int] = {}
    for key in client.keys(minute_counts_key(NAMESPACE, 0).replace(":0", ":*")):
        for field, value in client.hgetall(key).items():
            summed[field.decode()] = summed.get(field.decode(), 0) + int(value)
    return summed


def run(counts: MinuteCounts, queue: str, actor: str, *, failed: bool = False) -> None:
    message = SimpleNamespace(queue_name=queue, actor_name=actor)
    counts.after_process_message(None, message, exception=RuntimeError() if failed else None)  # type: ignore[arg-type]


def test_the_last_minutes_are_listed_oldest_first_ending_with_the_current_one() -> None:
    now = 1_764_547_234_567
    minutes = span_minutes(now, 15)
    assert len(minutes) == 15 and minutes[-1] == minute_of(now) == 1_764_547_200_000
    assert minutes[0] == minutes[-1] - 14 * MINUTE_MS


def test_minute_hashes_are_read_back_per_queue_actor_and_outcome() -> None:
    hashes = [
        {b"done|default": b"3", b"failed|default": b"1", b"ran|charge": b"4"},
        {},
        {b"done|default": b"2", b"flow|charge|duplicate_skipped": b"5", b"dead|default": b"1"},
    ]
    totals = MinuteTotals([0, MINUTE_MS, 2 * MINUTE_MS], hashes)
    assert totals.series("done", "default") == [3, 0, 2]
    assert totals.series("failed", "default") == [1, 0, 0]
    assert totals.series("dead", "default") == [0, 0, 1]
    assert totals.series("done", "low_priority") == [0, 0, 0]
    assert totals.runs == {"charge": 4}
    assert totals.decisions == {"charge": {"duplicate_skipped": 5}}


def test_counts_reach_redis_once_with_a_ttl_and_only_known_names(redis_client: redis.Redis) -> None:
    counts, broker = booted_counts(redis_client)
    try:
        run(counts, "default", "charge")
        run(counts, "default.DQ", "charge", failed=True)  # a retry: counted on its queue
        run(counts, "made:up{queue}", "not-an-actor")
        counts._count_decision("charge", "duplicate_skipped", 2)
        counts._count_decision("charge", "an outcome of no one", 1)
        counts.flush()
        counts.flush()  # nothing new: nothing added twice
    finally:
        counts.before_worker_shutdown(broker, None)  # type: ignore[arg-type]

    assert stored_counts(redis_client) == {
        "done|default": 1, "failed|default": 1, "done|other": 1, "ran|charge": 2, "ran|other": 1,
        "flow|charge|duplicate_skipped": 2, "flow|charge|other": 1,
    }  # fmt: skip
    for key in redis_client.keys(minute_counts_key(NAMESPACE, 0).replace(":0", ":*")):
        assert 0 < redis_client.pttl(key) <= KEEP_MINUTES * MINUTE_MS


def test_a_tally_that_redis_did_not_take_is_added_at_the_next_flush(redis_client: redis.Redis) -> None:
    unreachable = redis.Redis(host="127.0.0.1", port=9, socket_connect_timeout=0.2)
    counts, broker = booted_counts(unreachable)
    run(counts, "default", "charge")
    counts.flush()  # Redis down: kept
    broker.client = redis_client
    run(counts, "default", "charge")
    counts.flush()

    assert stored_counts(redis_client) == {"done|default": 2, "ran|charge": 2}
