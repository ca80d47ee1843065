"""Idempotency: for every key, exactly one successful completion, whatever the duplicates."""

from __future__ import annotations

import threading
import time

import pytest

from tests.middleware.helpers import decisions, drain, flow_control


def test_duplicate_after_success_is_skipped_and_counted(declare, broker, worker):
    runs = []

    @declare(idempotency_key="order_id")
    def charge(order_id: str) -> None:
        runs.append(order_id)

    charge.send("o-1")
    drain(broker, worker)
    charge.send("o-1")
    charge.send_with_options(args=("o-2",), idempotency_key="o-1")  # key given at send time wins
    drain(broker, worker)

    assert runs == ["o-1"]
    assert decisions(charge, "duplicate_skipped") == 2


def test_duplicate_while_running_waits_and_never_runs_concurrently(declare, broker, worker, wait_until):
    running, completions, overlaps = [], [], []
    lock = threading.Lock()

    @declare(idempotency_key="key")
    def slow(key: str) -> None:
        with lock:
            if running:
                overlaps.append(key)
            running.append(key)
        time.sleep(0.6)
        with lock:
            running.remove(key)
            completions.append(key)

    slow.send("k")
    wait_until(lambda: running, what="first run to start")
    slow.send("k")
    slow.send("k")
    wait_until(lambda: decisions(slow, "duplicate_skipped") == 2, timeout=15, what="both duplicates skipped")

    assert completions == ["k"] and overlaps == []
    assert decisions(slow, "duplicate_waited") >= 2


def test_duplicate_runs_when_the_first_run_failed_for_good(declare, broker, worker, wait_until):
    attempts = []

    @declare(idempotency_key="key", max_retries=0)
    def flaky(key: str, fail: bool) -> None:
        attempts.append(fail)
        time.sleep(0.3)
        if fail:
            raise RuntimeError("first delivery fails")

    flaky.send("k", True)
    wait_until(lambda: attempts, what="first run to start")
    flaky.send("k", False)  # arrives while the first runs: waits, then runs because the first failed
    drain(broker, worker)
    wait_until(lambda: attempts == [True, False], timeout=15)


def test_retries_of_the_same_message_are_not_blocked_by_their_first_attempt(declare, broker, worker):
    attempts = []

    @declare(idempotency_key="key", max_retries=3, min_backoff=50, max_backoff=100)
    def sometimes(key: str) -> None:
        attempts.append(key)
        if len(attempts) < 3:
            raise RuntimeError("transient")

    sometimes.send("k")
    deadline = time.monotonic() + 15
    while len(attempts) < 3 and time.monotonic() < deadline:
        drain(broker, worker)
    drain(broker, worker)
    sometimes.send("k")  # the key succeeded on the third attempt: a later duplicate is skipped
    drain(broker, worker)

    assert attempts == ["k", "k", "k"]


@pytest.mark.parametrize("keep", [False, True])
def test_failure_for_good_releases_the_key_unless_kept(declare, broker, worker, keep):
    attempts = []

    @declare(idempotency_key="key", max_retries=0, keep_key_on_failure=keep)
    def doomed(key: str) -> None:
        attempts.append(key)
        raise RuntimeError("always")

    doomed.send("k")
    drain(broker, worker)
    doomed.send("k")
    drain(broker, worker)

    assert len(attempts) == (1 if keep else 2)


def test_lease_is_renewed_while_an_actor_outlives_it(declare, broker, worker, wait_until, redis_client):
    # Tests run with FLOW_LEASE_MS=3000; this actor runs for 4.5 s.
    running, completions = [], []

    @declare(idempotency_key="key")
    def long_job(key: str) -> None:
        running.append(key)
        time.sleep(4.5)
        completions.append(key)

    long_job.send("k")
    wait_until(lambda: running, what="the long run to start")
    time.sleep(3.5)  # past the first lease deadline
    long_job.send("k")
    wait_until(lambda: completions, timeout=10)
    wait_until(lambda: decisions(long_job, "duplicate_skipped") == 1, timeout=10)

    assert running == ["k"] and completions == ["k"]
    assert decisions(long_job, "lease_expired") == 0


def test_delayed_message_promoted_twice_runs_once(declare, broker, worker):
    runs = []

    @declare(idempotency_key="key")
    def later(key: str) -> None:
        runs.append(key)

    message = later.message("k")
    broker.enqueue(message, delay=200)
    broker.enqueue(message, delay=250)  # the same message id delayed twice, as Dramatiq #431 reports
    time.sleep(0.6)
    drain(broker, worker)
    broker.join("default", timeout=5000)
    worker.join()

    assert runs == ["k"]


def test_success_is_recorded_in_the_ack_s_script_call(declare, broker, worker, redis_client, monkeypatch):
    dramatiq_acks = []
    monkeypatch.setattr(broker, "do_ack", lambda *args: dramatiq_acks.append(args), raising=False)

    @declare(idempotency_key="order_id")
    def charge(order_id: str) -> None:
        pass

    message = charge.send("o-1")
    drain(broker, worker)

    guard = flow_control(broker).keys.guard(charge.actor_name, "idem", "o-1")
    assert redis_client.get(guard) == f"D|{message.message_id}".encode()
    assert redis_client.hlen("dramatiq:default.msgs") == 0
    assert all(redis_client.scard(key) == 0 for key in redis_client.scan_iter("dramatiq:__acks__.*"))
    assert dramatiq_acks == []  # acked by FlowControl's success script, not by a call of its own
