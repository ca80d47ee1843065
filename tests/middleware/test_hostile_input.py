"""Messages the middleware cannot key, keys chosen by an attacker, and deployments sharing a Redis."""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter

import dramatiq
from prometheus_client import REGISTRY

from middleware.errors import UnkeyableMessage
from tests.middleware.helpers import decisions, drain, flow_control

HOSTILE_KEYS = ["a:b", "*", "{x}", "k" * 1024, "ключ-🔑", "\udc80", "plain-key_1.ok"]
PART = r"(?:[A-Za-z0-9_.=+@-]{1,64}|#[0-9a-f]{64})"
ACTOR = r"[A-Za-z0-9_]+"
METRICS = ("zapq_flow_decisions_total", "zapq_debounce_flush_delay_seconds")


def flow_key_pattern(namespace: str) -> re.Pattern[str]:
    ns = re.escape(namespace)
    return re.compile(
        rf"{ns}:(?:guard:{ACTOR}:(?:idem|dedup|tick|msg|batch):{PART}(?::waiters)?"
        rf"|throttle:{ACTOR}:{PART}(?::running|:parked)?|throttle:due"
        rf"|debounce:window:{ACTOR}:{PART}|debounce:items:{PART}|debounce:due|waits|fence"
        # Not flow control's: zapq's worker heartbeat, which shares the namespace (the test worker beats).
        rf"|workers)"
    )


def actor_labels(metric: str) -> set[str]:
    """Every actor_name label value of a metric in the process's Prometheus registry."""
    return {
        sample.labels["actor_name"]
        for family in REGISTRY.collect()
        if family.name == metric.removesuffix("_total")
        for sample in family.samples
        if "actor_name" in sample.labels
    }


def unkeyable_failures(caplog) -> list[str]:  # type: ignore[no-untyped-def]
    return [
        record.getMessage()
        for record in caplog.records
        if record.exc_info and isinstance(record.exc_info[1], UnkeyableMessage)
    ]


def test_a_key_function_that_raises_never_lets_the_message_run_unguarded(
    declare, broker, worker, redis_client, wait_until, caplog
):
    runs = []

    @declare(throttle=lambda args, kwargs: f"{args[0]}:{args[1]}", throttle_limit=1, max_retries=0)
    def reengage(user: str, kind: str) -> None:
        runs.append((user, kind))

    @declare(idempotency_key=lambda args, kwargs: args[0].order_id, max_retries=0)
    def charge(order: dict) -> None:
        runs.append(order)

    with caplog.at_level(logging.ERROR):
        by_index = reengage.send_with_options(kwargs={"user": "u1", "kind": "inactive_48h"})  # IndexError
        by_attribute = charge.send({"order_id": "o-1"})  # AttributeError: a dict has no .order_id
        wait_until(lambda: redis_client.zcard("dramatiq:default.XQ") == 2, timeout=10, what="dead-lettered")
        drain(broker, worker)

    assert runs == []
    dead = {
        dramatiq.Message.decode(body).message_id for body in redis_client.hvals("dramatiq:default.XQ.msgs")
    }
    assert dead == {by_index.message_id, by_attribute.message_id}
    failures = unkeyable_failures(caplog)
    assert len(failures) == 2, failures
    assert any(reengage.actor_name in line for line in failures), failures
    assert any(charge.actor_name in line for line in failures), failures


def test_hostile_idempotency_keys_never_shape_redis_keys(declare, broker, worker, redis_client):
    runs: Counter[str] = Counter()

    @declare(idempotency_key="key", throttle="key", throttle_limit=5, throttle_period=60_000)
    def charge(key: str) -> None:
        runs[key] += 1

    for key in HOSTILE_KEYS:
        charge.send(key)
    drain(broker, worker)
    for key in HOSTILE_KEYS:
        charge.send(key)
    drain(broker, worker)

    assert runs == Counter(dict.fromkeys(HOSTILE_KEYS, 1))
    assert decisions(charge, "duplicate_skipped") == len(HOSTILE_KEYS)
    namespace = flow_control(broker).keys.namespace
    pattern = flow_key_pattern(namespace)
    flow_keys = [raw.decode() for raw in redis_client.scan_iter(f"{namespace}:*")]
    assert len([key for key in flow_keys if ":idem:" in key]) == len(HOSTILE_KEYS)
    assert [key for key in flow_keys if not pattern.fullmatch(key)] == []


def test_hostile_debounce_and_throttle_keys_never_shape_redis_keys_or_metric_labels(
    declare, broker, worker, redis_client, wait_until
):
    batches = []

    @declare(
        debounce="user", debounce_window=150, throttle="user", throttle_limit=100, throttle_period=60_000
    )
    def reply(items: list) -> None:
        batches.append(items)

    labels_before = {metric: actor_labels(metric) for metric in METRICS}
    for user in HOSTILE_KEYS:
        reply.send({"user": user, "text": "hi"})
        reply.send({"user": user, "text": "again"})
    wait_until(lambda: len(batches) == len(HOSTILE_KEYS), timeout=10, what="one batch per user")

    namespace = flow_control(broker).keys.namespace
    pattern = flow_key_pattern(namespace)
    assert [
        raw.decode()
        for raw in redis_client.scan_iter(f"{namespace}:*")
        if not pattern.fullmatch(raw.decode())
    ] == []
    assert sorted(item["user"] for batch in batches for item in batch) == sorted(HOSTILE_KEYS * 2)
    for metric in METRICS:
        added = actor_labels(metric) - labels_before[metric]
        assert reply.actor_name in added, metric
        assert added <= {reply.actor_name, "other"}, added


def test_two_deployments_sharing_one_redis_share_no_flow_control_state(
    settings, redis_client, monkeypatch, wait_until
):
    from actors.broker import build_broker
    from zapq.settings import get_settings

    runs: Counter[str] = Counter()
    lock = threading.Lock()
    brokers, workers = [], []
    for deployment in ("a", "b"):  # REDIS_NAMESPACE a and b: FlowControl(namespace="a:zapq"), ...
        monkeypatch.setenv("REDIS_NAMESPACE", deployment)
        get_settings.cache_clear()
        broker = build_broker(get_settings())
        broker.emit_after("process_boot")

        def charge(order_id: str, deployment: str = deployment) -> None:
            with lock:
                runs[deployment] += 1

        dramatiq.actor(
            charge, broker=broker, actor_name="charge", queue_name="default", idempotency_key="order_id"
        )
        brokers.append(broker)
        workers.append(dramatiq.Worker(broker, worker_threads=2, worker_timeout=100))
    get_settings.cache_clear()
    for worker in workers:
        worker.start()
    try:
        for broker in brokers:
            broker.get_actor("charge").send("o-1")
        wait_until(lambda: runs == {"a": 1, "b": 1}, timeout=10, what="one run per deployment")
        for broker in brokers:
            broker.get_actor("charge").send("o-1")  # a duplicate within each deployment
        wait_until(
            lambda: all(redis_client.hlen(f"{name}:default.msgs") == 0 for name in "ab"),
            timeout=10,
            what="the duplicates to be decided",
        )
    finally:
        for worker in workers:
            worker.stop()

    assert runs == {"a": 1, "b": 1}
    assert redis_client.get("a:zapq:guard:charge:idem:o-1").startswith(b"D|")
    assert redis_client.get("b:zapq:guard:charge:idem:o-1").startswith(b"D|")
