"""Failure paths of flow control: batches that fail or lose their items, waiting duplicates,
periodic ticks, TTLs that must not be confused, and what a finished batch leaves behind."""

from __future__ import annotations

import itertools
import threading
import time

import dramatiq
import pendulum
import pytest

from middleware.errors import DuplicateMessage
from tests.middleware.helpers import decisions, drain, flow_control
from tests.middleware.own_broker import build_flow_broker, running_worker

LONE_SURROGATES = ["\ud83d", "a\ud83db", "\udc80 tail", "😀 and \ud83d"]


def test_a_batch_retried_past_its_original_ttl_still_has_its_items(settings, wait_until):
    # The batch TTL is idempotency_ttl, here the middleware's own (1.5 s); two retries 1 s apart
    # end after it.
    broker = build_flow_broker(settings.redis_url, namespace="ttl", idempotency_ttl=1500)
    attempts: list[tuple[float, list[int]]] = []

    def reply(items: list) -> None:
        attempts.append((time.monotonic(), [item["n"] for item in items]))
        if len(attempts) < 3:
            raise dramatiq.Retry(delay=1000)

    actor = dramatiq.actor(
        reply, broker=broker, actor_name="reply_retried_past_ttl", queue_name="default",
        debounce="user", debounce_window=100, max_retries=5,
    )  # fmt: skip
    with running_worker(broker, threads=2):
        for number in range(3):
            actor.send({"user": "u1", "n": number})
        wait_until(lambda: len(attempts) == 3 or decisions(actor, "batch_items_missing"), timeout=10)

    assert decisions(actor, "batch_items_missing") == 0
    assert [items for _, items in attempts] == [[0, 1, 2]] * 3
    assert attempts[2][0] - attempts[0][0] > 1.5  # the last attempt came after the original TTL


def test_a_batch_whose_items_were_deleted_is_dead_lettered_never_run_empty(
    declare, broker, worker, redis_client, wait_until
):
    runs = []

    @declare(debounce="user", debounce_window=1500, max_retries=0)
    def reply(items: list) -> None:
        runs.append(items)

    reply.send({"user": "u1", "text": "hi"})
    keys = flow_control(broker).keys
    window = keys.debounce_window(reply.actor_name, "u1")
    wait_until(lambda: redis_client.hget(window, "batch"), timeout=5, what="the window to open")
    batch_id = redis_client.hget(window, "batch").decode()
    assert redis_client.delete(keys.debounce_items(batch_id)) == 1  # gone before the window flushes
    wait_until(
        lambda: runs or redis_client.zcard("dramatiq:default.XQ"), timeout=10, what="a run or a dead letter"
    )
    drain(broker, worker)

    assert runs == []
    assert decisions(reply, "batch_items_missing") == 1
    [dead] = [dramatiq.Message.decode(body) for body in redis_client.hvals("dramatiq:default.XQ.msgs")]
    assert dead.message_id == batch_id


def test_lone_surrogates_survive_a_batch_and_a_failed_batch_releases_its_messages(
    declare, worker, wait_until
):
    attempts: list[list[str]] = []

    @declare(debounce="user", debounce_window=150, idempotency_key="wamid", max_retries=0)
    def reply(items: list) -> None:
        attempts.append([item["text"] for item in items])
        if len(attempts) == 1:
            raise RuntimeError("engine down")

    def send_all() -> None:
        for number, text in enumerate(LONE_SURROGATES):
            reply.send({"user": "u1", "wamid": f"w{number}", "text": text})

    send_all()
    wait_until(lambda: attempts, timeout=5, what="the failing batch")
    wait_until(lambda: decisions(reply, "released_after_failure") == len(LONE_SURROGATES), timeout=5)
    send_all()  # the sender redelivers the same message ids: processed again, not skipped
    wait_until(lambda: len(attempts) == 2, timeout=5, what="the second batch")

    assert attempts == [LONE_SURROGATES, LONE_SURROGATES]
    assert decisions(reply, "duplicate_skipped") == 0


def test_two_schedulers_ticks_for_the_same_minute_make_one_run(declare, broker, worker):
    runs = []

    @declare()
    def tick_job() -> None:
        runs.append(1)

    minute = pendulum.datetime(2030, 1, 1, 12, 0, 0)
    tick_job.send_with_options(scheduled_at=str(minute))
    tick_job.send_with_options(scheduled_at=str(minute.add(seconds=3)))  # a scheduler woken late
    tick_job.send_with_options(scheduled_at=str(minute.add(seconds=5).in_timezone("America/Sao_Paulo")))
    drain(broker, worker)
    tick_job.send_with_options(scheduled_at=str(minute.add(minutes=1, seconds=2)))  # the next tick
    drain(broker, worker)

    assert len(runs) == 2
    assert decisions(tick_job, "dedup_dropped") == 2


def test_on_a_debounced_actor_the_dedup_guard_keeps_the_dedup_window_not_idempotency_ttl(
    declare, broker, worker, redis_client, wait_until
):
    batches = []

    @declare(debounce="user", debounce_window=100, dedup=1000)
    def reply(items: list) -> None:
        batches.append(items)

    sent_at = time.monotonic()
    reply.send({"user": "u1", "text": "hi"})
    wait_until(lambda: batches, timeout=5, what="the batch")
    time.sleep(0.1)  # its success is recorded in the ack, just after the body returns
    namespace = flow_control(broker).keys.namespace
    [dedup_guard] = list(redis_client.scan_iter(f"{namespace}:guard:{reply.actor_name}:dedup:*"))
    assert 0 < redis_client.pttl(dedup_guard) <= 1000
    with pytest.raises(DuplicateMessage):
        reply.send({"user": "u1", "text": "hi"})
    time.sleep(max(0.0, 1.2 - (time.monotonic() - sent_at)))
    reply.send({"user": "u1", "text": "hi"})  # the dedup window is over: accepted again
    wait_until(lambda: len(batches) == 2, timeout=5, what="the second batch")

    assert batches == [[{"user": "u1", "text": "hi"}]] * 2


def test_after_a_batch_succeeds_its_items_are_deleted_and_only_small_guards_remain(
    declare, broker, worker, redis_client, wait_until
):
    received = []

    @declare(debounce="user", debounce_window=150, idempotency_key="wamid")
    def reply(items: list) -> None:
        received.extend(items)

    for number in range(50):
        reply.send({"user": f"u{number % 5}", "wamid": f"w{number}", "text": "x" * 200})
    wait_until(lambda: len(received) == 50, timeout=10, what="every message in a batch")
    namespace = flow_control(broker).keys.namespace
    wait_until(
        lambda: not list(redis_client.scan_iter(f"{namespace}:debounce:*")), timeout=5, what="items deleted"
    )
    time.sleep(0.2)

    left = [raw.decode() for raw in redis_client.scan_iter(f"{namespace}:*")]
    kinds = {key.removeprefix(f"{namespace}:").split(":")[0] for key in left}
    assert kinds <= {"guard", "fence", "workers"}, sorted(left)  # workers: zapq's worker heartbeat
    guards = [key for key in left if key.startswith(f"{namespace}:guard:")]
    assert all(redis_client.type(key) == b"string" and redis_client.strlen(key) <= 64 for key in guards)
    assert redis_client.hlen("dramatiq:default.msgs") == 0


def test_a_duplicate_of_a_running_key_costs_nothing_while_it_waits_and_resolves_when_the_run_ends(
    declare, broker, worker, redis_client, wait_until
):
    started, ended = threading.Event(), []

    @declare(idempotency_key="key")
    def slow(key: str) -> None:
        started.set()
        time.sleep(1.0)
        ended.append(time.monotonic())

    slow.send("k")
    assert started.wait(5)
    slow.send("k")
    wait_until(lambda: decisions(slow, "duplicate_waited") == 1, timeout=5, what="the duplicate to park")
    waiting = []
    while not ended:
        waiting.append(
            (redis_client.llen("dramatiq:default.DQ"), redis_client.hlen("dramatiq:default.DQ.msgs"))
        )
        time.sleep(0.05)
    wait_until(lambda: decisions(slow, "duplicate_skipped") == 1, timeout=5, interval=0.01)
    resolved_after = time.monotonic() - ended[0]

    assert set(waiting) == {(0, 0)}  # parked in Redis, not bouncing through the delay queue
    assert resolved_after < 0.3


@pytest.mark.parametrize("retries", [0, 2], ids=["fails_for_good", "will_be_retried"])
def test_a_duplicate_parked_behind_a_failing_run_is_released_and_runs_promptly(
    declare, broker, worker, wait_until, retries
):
    started, runs = threading.Event(), []

    @declare(idempotency_key="key", max_retries=retries, min_backoff=1000, max_backoff=1000)
    def flaky(key: str, fail: bool) -> None:
        runs.append((time.monotonic(), fail))
        started.set()
        if fail:
            time.sleep(0.8)
            runs.append((time.monotonic(), "raised"))
            raise RuntimeError("the first run fails")

    flaky.send("k", True)
    assert started.wait(5)
    flaky.send("k", False)
    wait_until(lambda: decisions(flaky, "duplicate_waited") == 1, timeout=5, what="the duplicate to park")
    wait_until(lambda: len(runs) == 3, timeout=5, what="the duplicate to run")

    (_, first), (failed_at, _), (duplicate_at, second) = runs
    assert (first, second) == (True, False)
    assert duplicate_at - failed_at < 0.5  # released by the failure itself, not by a lease running out
    if retries:  # the failed message's retry then finds the key done
        wait_until(lambda: decisions(flaky, "duplicate_skipped") == 1, timeout=5, what="the retry skipped")
        assert len(runs) == 3


def test_throttle_delay_mode_runs_parked_messages_in_send_order_a_period_apart(
    declare, broker, worker, wait_until
):
    runs: list[tuple[float, int]] = []

    @declare(throttle="user", throttle_limit=1, throttle_period=500, throttle_mode="delay")
    def notify(user: str, number: int) -> None:
        runs.append((time.monotonic(), number))

    notify.send("u1", 1)
    wait_until(lambda: runs, timeout=5, what="the first run")
    for number in range(2, 6):
        notify.send("u1", number)
        time.sleep(0.2)  # longer than a consumer's poll: each is fetched, and decided, after the last
    wait_until(lambda: len(runs) == 5, timeout=10, what="every message to run")

    assert [number for _, number in runs] == [1, 2, 3, 4, 5]
    gaps = [later - earlier for (earlier, _), (later, _) in itertools.pairwise(runs)]
    # A slot is taken when the tick claims it; the run starts a fetch later, so on a loaded machine
    # two runs can sit a little closer than the period.
    assert min(gaps) >= 0.4, gaps


def test_a_batch_whose_retry_waits_longer_than_its_ttl_still_has_its_items(settings, wait_until):
    broker = build_flow_broker(settings.redis_url, namespace="ttl", idempotency_ttl=1500)
    attempts: list[list[int]] = []

    def reply(items: list) -> None:
        attempts.append([item["n"] for item in items])
        if len(attempts) == 1:
            raise dramatiq.Retry(delay=2500)  # one backoff longer than the batch TTL

    actor = dramatiq.actor(
        reply, broker=broker, actor_name="reply_retried_after_ttl", queue_name="default",
        debounce="user", debounce_window=100, max_retries=3,
    )  # fmt: skip
    with running_worker(broker, threads=2):
        for number in range(3):
            actor.send({"user": "u1", "n": number})
        wait_until(lambda: len(attempts) == 2 or decisions(actor, "batch_items_missing"), timeout=10)

    assert decisions(actor, "batch_items_missing") == 0
    assert attempts == [[0, 1, 2], [0, 1, 2]]
