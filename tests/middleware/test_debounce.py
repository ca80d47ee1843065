"""Debounce with accumulation: every message of a window in one batch, in arrival order."""

from __future__ import annotations

import threading
import time

from tests.middleware.helpers import decisions


def test_burst_runs_once_with_every_message_in_arrival_order(declare, worker, wait_until):
    batches = []

    @declare(debounce="user", debounce_window=300)
    def reply(items: list) -> None:
        batches.append(items)

    for number in range(5):
        reply.send({"user": "u1", "text": f"m{number}"})
    reply.send({"user": "u2", "text": "other user"})
    wait_until(lambda: len(batches) == 2, timeout=5)
    time.sleep(0.5)

    by_user = {batch[0]["user"]: [item["text"] for item in batch] for batch in batches}
    assert by_user == {"u1": ["m0", "m1", "m2", "m3", "m4"], "u2": ["other user"]}
    assert decisions(reply, "debounce_merged") == 6


def test_duplicates_with_the_same_idempotency_key_are_dropped_from_the_window(declare, worker, wait_until):
    batches = []

    @declare(debounce="user", debounce_window=300, idempotency_key="wamid")
    def reply(items: list) -> None:
        batches.append([item["wamid"] for item in items])

    for wamid in ["a", "b", "a", "c", "b"]:
        reply.send({"user": "u1", "wamid": wamid})
    wait_until(lambda: batches, timeout=5)
    time.sleep(0.5)
    reply.send({"user": "u1", "wamid": "a"})  # Meta's redelivery, after the batch ran
    time.sleep(0.8)

    # Which copy of a duplicate is merged first (and so its position) depends on thread timing.
    assert len(batches) == 1 and sorted(batches[0]) == ["a", "b", "c"]
    assert decisions(reply, "duplicate_skipped") == 3


def test_max_items_flushes_at_once(declare, worker, wait_until):
    batches = []

    @declare(debounce="user", debounce_window=60_000, debounce_max_items=3)
    def reply(items: list) -> None:
        batches.append(len(items))

    for number in range(7):
        reply.send({"user": "u1", "n": number})
    wait_until(lambda: sum(batches) == 6, timeout=5)

    assert batches == [3, 3]


def test_max_wait_caps_a_window_that_keeps_being_extended(declare, worker, wait_until):
    flushed_at = []

    @declare(debounce="user", debounce_window=400, debounce_max_wait=1200)
    def reply(items: list) -> None:
        flushed_at.append((time.monotonic(), len(items)))

    started = time.monotonic()
    while time.monotonic() - started < 2.0:  # a message every 150 ms never leaves 400 ms quiet
        reply.send({"user": "u1"})
        time.sleep(0.15)
    wait_until(lambda: flushed_at, timeout=5)

    first_flush, first_size = flushed_at[0]
    assert first_flush - started < 1.2 + 0.7
    assert 5 <= first_size <= 9


def test_max_wait_belongs_to_the_window_not_to_later_senders(declare, worker, wait_until):
    flushed_at = []

    @declare(debounce="user", debounce_window=400, debounce_max_wait=1000)
    def reply(items: list) -> None:
        flushed_at.append(time.monotonic())

    started = time.monotonic()
    reply.send({"user": "u1"})
    # The window opens with the first merged message's options; wait so that one is ours.
    wait_until(lambda: decisions(reply, "debounce_merged") == 1, timeout=5)
    while time.monotonic() - started < 1.6:
        # A sender asking for a far longer cap cannot move the window's own.
        reply.send_with_options(args=({"user": "u1"},), debounce_max_wait=60_000)
        time.sleep(0.15)
    wait_until(lambda: flushed_at, timeout=5)

    assert flushed_at[0] - started < 1.0 + 0.7


def test_message_arriving_during_a_batch_run_opens_a_new_window(declare, worker, wait_until):
    batches, running = [], threading.Event()

    @declare(debounce="user", debounce_window=200)
    def reply(items: list) -> None:
        running.set()
        time.sleep(0.8)
        batches.append([item["n"] for item in items])

    reply.send({"user": "u1", "n": 1})
    running.wait(5)
    reply.send({"user": "u1", "n": 2})
    wait_until(lambda: len(batches) == 2, timeout=8)

    assert batches == [[1], [2]]


def test_batch_failed_for_good_releases_its_messages(declare, worker, wait_until):
    attempts = []

    @declare(debounce="user", debounce_window=200, idempotency_key="wamid", max_retries=0)
    def reply(items: list) -> None:
        attempts.append([item["wamid"] for item in items])
        if len(attempts) == 1:
            raise RuntimeError("engine down")

    reply.send({"user": "u1", "wamid": "a"})
    wait_until(lambda: attempts, timeout=5)
    time.sleep(0.3)
    reply.send({"user": "u1", "wamid": "a"})  # redelivered by the sender: runs again, not skipped
    wait_until(lambda: len(attempts) == 2, timeout=5)

    assert attempts == [["a"], ["a"]]


def test_flush_starts_soon_after_the_window_closes(declare, worker, wait_until):
    delays = []

    @declare(debounce="user", debounce_window=300)
    def reply(items: list) -> None:
        delays.append(time.monotonic() - items[-1]["sent"])

    for expected in range(1, 6):
        reply.send({"user": "u1", "sent": time.monotonic()})
        wait_until(lambda expected=expected: len(delays) == expected, timeout=5)

    # Window 300 ms; the bench measures the distribution, this only guards against gross regressions.
    assert max(delays) < 0.3 + 1.5


def test_merged_messages_are_acked_by_the_merge_itself(
    declare, broker, worker, wait_until, redis_client, monkeypatch
):
    dramatiq_acks = []
    monkeypatch.setattr(broker, "do_ack", lambda *args: dramatiq_acks.append(args), raising=False)
    batches = []

    @declare(debounce="user", debounce_window=200, idempotency_key="wamid")
    def reply(items: list) -> None:
        batches.append(items)

    for wamid in ["a", "b", "a"]:
        reply.send({"user": "u1", "wamid": wamid})
    wait_until(lambda: batches, timeout=5)
    wait_until(lambda: redis_client.hlen("dramatiq:default.msgs") == 0, timeout=5)

    assert all(redis_client.scard(key) == 0 for key in redis_client.scan_iter("dramatiq:__acks__.*"))
    assert dramatiq_acks == []  # merged, duplicate and batch messages: all acked by FlowControl's scripts
