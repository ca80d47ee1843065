"""Redis going away under the middleware: killed mid-stream, or a script reply lost on the wire.

Each test builds a broker of its own (FlowControlRedisBroker + FlowControl + Retries) on a
Redis it may break: the `restartable_redis` server it SIGKILLs, or the session Redis behind
a TCP proxy that swallows one reply after the server acted on it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from typing import Any

import dramatiq
import pytest
import redis
from dramatiq.middleware import CurrentMessage, Middleware
from redis.backoff import NoBackoff
from redis.retry import Retry

from middleware.errors import FlowControlUnavailable
from middleware.flow_control import FENCE_OPTION, FlowControl
from tests.middleware.helpers import decisions
from tests.middleware.own_broker import build_flow_broker, running_worker

pytestmark = pytest.mark.processes

MESSAGES = 500


def leftovers(client: redis.Redis, namespace: str) -> dict[str, int]:
    """Every Dramatiq structure that still holds a message: queues, bodies, unacked sets, DQ, XQ."""
    found = {}
    for raw in client.scan_iter(f"{namespace}:*"):
        key = raw.decode()
        kind = client.type(key).decode()
        # "none": the key went away between the scan and this look (a worker acked its last message).
        if kind == "none" or key.endswith("__heartbeats__") or key.startswith(f"{namespace}:zapq:"):
            continue
        size = {"list": client.llen, "hash": client.hlen, "set": client.scard, "zset": client.zcard}[kind](
            key
        )
        if size:
            found[key] = size
    return found


class KillRedisBeforeDeciding(Middleware):
    """Placed before FlowControl: SIGKILLs the server just as one chosen message is about to be decided."""

    def __init__(self, server: Any, key: str, down_for_s: float) -> None:
        self.server, self.key, self.down_for_s = server, key, down_for_s
        self.restarted = threading.Thread(target=self._restart_later, daemon=True)
        self.killed = False

    def before_process_message(self, broker: Any, message: Any) -> None:
        if message.args == (self.key,) and not self.killed:  # its first delivery only
            self.killed = True
            self.server.kill()
            self.restarted.start()

    def _restart_later(self) -> None:
        time.sleep(self.down_for_s)
        self.server.restart()


def test_redis_killed_while_messages_are_decided_never_acks_an_undecided_message(
    restartable_redis, wait_until
):
    # Killed just as k100 is about to be decided, while the other threads are wherever they are:
    # in decisions, success records, acks and fetches. Back after 1 s, within unavailable_wait_s.
    killer = KillRedisBeforeDeciding(restartable_redis, "k100", down_for_s=1.0)
    broker = build_flow_broker(restartable_redis.url, namespace="outage", first=killer)
    runs: Counter[str] = Counter()
    lock = threading.Lock()

    def record(key: str) -> None:
        with lock:
            runs[key] += 1
        time.sleep(0.002)

    dramatiq.actor(record, broker=broker, actor_name="record", queue_name="default", idempotency_key="key")
    keys = [f"k{number}" for number in range(MESSAGES)]
    for key in keys:
        broker.get_actor("record").send(key)

    with running_worker(broker, threads=8):
        wait_until(lambda: len(runs) == MESSAGES, timeout=40, interval=0.2, what="every key to run")
        killer.restarted.join()
        client = redis.Redis.from_url(restartable_redis.url)
        wait_until(lambda: not leftovers(client, "outage"), timeout=20, interval=0.2, what="queues to empty")

    assert killer.killed
    assert [key for key in keys if runs[key] != 1] == []
    assert leftovers(client, "outage") == {}


def test_redis_down_longer_than_the_wait_requeues_the_message_instead_of_dropping_it(
    restartable_redis, wait_until, caplog
):
    # No client-side retries: the middleware's own patience (1 s here) runs out, and Retries
    # cannot enqueue the retry while Redis is down either.
    impatient = redis.Redis.from_url(restartable_redis.url, retry=Retry(NoBackoff(), 0))
    killer = KillRedisBeforeDeciding(restartable_redis, "k40", down_for_s=2.5)
    broker = build_flow_broker(
        restartable_redis.url, namespace="outage", client=impatient, broker_client=impatient,
        unavailable_wait_s=1.0, first=killer,
    )  # fmt: skip
    runs: Counter[str] = Counter()
    lock = threading.Lock()

    def record(key: str) -> None:
        with lock:
            runs[key] += 1
        time.sleep(0.01)

    dramatiq.actor(record, broker=broker, actor_name="record", queue_name="default", idempotency_key="key")
    keys = [f"k{number}" for number in range(100)]
    for key in keys:
        broker.get_actor("record").send(key)

    with caplog.at_level(logging.ERROR), running_worker(broker, threads=4):
        wait_until(lambda: len(runs) == len(keys), timeout=40, interval=0.2, what="every key to run")
        killer.restarted.join()
        client = redis.Redis.from_url(restartable_redis.url)
        wait_until(lambda: not leftovers(client, "outage"), timeout=20, interval=0.2, what="queues to empty")

    gave_up = [
        record.getMessage() for record in caplog.records
        if record.exc_info and isinstance(record.exc_info[1], FlowControlUnavailable)
    ]  # fmt: skip
    retry_lost = [
        record
        for record in caplog.records
        if "after_process_message of <dramatiq.middleware.retries" in record.getMessage()
    ]
    assert any("record('k40')" in line for line in gave_up), gave_up  # k40 waited 1 s, then gave up
    assert retry_lost  # and its retry could not be enqueued
    assert [key for key in keys if runs[key] != 1] == []  # ...and was requeued: it ran, once
    assert leftovers(client, "outage") == {}


def test_a_script_call_whose_reply_was_lost_is_re_sent_safely(
    settings, tcp_proxy_factory, redis_client, wait_until
):
    server = redis_client.connection_pool.connection_kwargs
    proxy = tcp_proxy_factory(server["host"], server["port"])
    through_proxy = redis.Redis(host="127.0.0.1", port=proxy.port)  # retries on connection errors
    # No tick and a long lease: the only replies on the proxy are the messages' own script calls.
    broker = build_flow_broker(
        settings.redis_url, namespace="lost", client=through_proxy, flush_interval_s=3600, lease_ms=30_000
    )
    fences: list[tuple[str, Any]] = []

    def charge(order_id: str, user: str) -> None:
        fences.append((order_id, CurrentMessage.get_current_message().options.get(FENCE_OPTION)))
        if order_id == "o-1":
            proxy.drop_after_next_reply()  # the success record's reply is lost next

    actor = dramatiq.actor(
        charge, broker=broker, actor_name="charge_after_lost_reply", queue_name="default",
        idempotency_key="order_id", throttle="user", throttle_limit=1, throttle_period=60_000,
    )  # fmt: skip
    flow_control = next(m for m in broker.middleware if isinstance(m, FlowControl))
    actor.send("o-0", "u0")  # connects and loads the scripts, so no handshake reply is lost
    message = actor.send_with_options(args=("o-1", "u1"), delay=1000)
    guard = flow_control.keys.guard(actor.actor_name, "idem", "o-1")
    with running_worker(broker, threads=2):
        wait_until(lambda: redis_client.get(flow_control.keys.guard(actor.actor_name, "idem", "o-0")))
        time.sleep(0.2)  # o-0's success reply has passed the proxy
        proxy.drop_after_next_reply()  # o-1's decision is the next reply: it is lost
        wait_until(lambda: redis_client.get(guard) == f"D|{message.message_id}".encode(), what="success")

    assert proxy.replies_dropped == 2
    # The re-sent decision reclaimed its own lease and throttle slot: one acquisition, one run.
    assert fences == [("o-0", 1), ("o-1", 2)]
    assert redis_client.get(flow_control.keys.fence) == b"2"
    for outcome in ("duplicate_waited", "throttled_dropped", "throttled_delayed", "lease_lost"):
        assert decisions(actor, outcome) == 0, outcome
