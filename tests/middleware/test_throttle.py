"""Per-key throttle: at most N runs per period per key, in O(limit) Redis state."""

from __future__ import annotations

import time

from tests.middleware.helpers import drain, flow_control


def test_excess_is_dropped_per_key(declare, broker, worker, redis_client):
    runs = []

    @declare(
        throttle=lambda args, kwargs: f"{args[0]}:{args[1]}", throttle_limit=1, throttle_period=86_400_000
    )
    def reengage(user: str, kind: str) -> None:
        runs.append((user, kind))

    for _ in range(3):
        reengage.send("u1", "inactive_48h")
    reengage.send("u1", "price_drop")
    reengage.send("u2", "inactive_48h")
    drain(broker, worker)

    assert sorted(runs) == [("u1", "inactive_48h"), ("u1", "price_drop"), ("u2", "inactive_48h")]
    key = flow_control(broker).keys.throttle(reengage.actor_name, "u1:inactive_48h")
    assert redis_client.zcard(key) == 1
    assert 0 < redis_client.pttl(key) <= 86_400_000


def test_delay_mode_runs_the_excess_when_a_slot_frees(declare, broker, worker):
    runs = []

    @declare(throttle="user", throttle_limit=2, throttle_period=800, throttle_mode="delay")
    def notify(user: str, number: int) -> None:
        runs.append((time.monotonic(), number))

    started = time.monotonic()
    for number in range(5):
        notify.send("u1", number)
    deadline = time.monotonic() + 10
    while len(runs) < 5 and time.monotonic() < deadline:
        drain(broker, worker)
        time.sleep(0.1)

    assert sorted(number for _, number in runs) == [0, 1, 2, 3, 4]
    finished = sorted(at - started for at, _ in runs)
    assert finished[2] >= 0.8 and finished[4] >= 1.6  # two per 800 ms


def test_slot_is_given_back_when_the_actor_fails_for_good(declare, broker, worker):
    attempts = []

    @declare(throttle="user", throttle_limit=1, throttle_period=86_400_000, max_retries=0)
    def reengage(user: str) -> None:
        attempts.append(user)
        if len(attempts) == 1:
            raise RuntimeError("template rejected")

    reengage.send("u1")
    drain(broker, worker)
    reengage.send("u1")
    drain(broker, worker)
    reengage.send("u1")  # the second succeeded and holds the slot
    drain(broker, worker)

    assert attempts == ["u1", "u1"]


def test_a_debounced_batch_is_throttled_on_the_key_of_its_window_s_first_message(declare, worker, wait_until):
    batches = []

    @declare(debounce="user", debounce_window=200, throttle="user", throttle_limit=1, throttle_period=60_000)
    def reply(items: list) -> None:
        batches.append([item["n"] for item in items])

    for number in range(3):
        reply.send({"user": "u1", "n": number})
    wait_until(lambda: batches, timeout=5)
    reply.send({"user": "u1", "n": 3})  # a second window for u1 within the period: dropped
    reply.send({"user": "u2", "n": 4})
    wait_until(lambda: len(batches) == 2, timeout=5)
    time.sleep(0.8)

    assert sorted(batches) == [[0, 1, 2], [4]]
