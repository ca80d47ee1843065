"""What zapq borrows from Dramatiq's private Redis protocol holds for the installed Dramatiq.

`middleware.dramatiq_protocol` names it; here it meets a plain RedisBroker, Dramatiq's own
consumer and a plain worker, so a Dramatiq upgrade that changes the protocol fails here first.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any
from uuid import uuid4

import dramatiq
import pytest
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.common import dq_name
from dramatiq.message import Message

from middleware.dramatiq_protocol import (
    CHECKED_AGAINST,
    DISPATCH_SCRIPT,
    ack_call,
    acks_key,
    acks_key_pattern,
    dead_letter_key,
    delay_queue_key,
    enqueue_call,
    heartbeat_key,
    messages_key,
    queue_key,
)
from middleware.scripts import LUA_DIR

NAMESPACE = "protocol"
QUEUE = queue_key(NAMESPACE, "default")
BODIES = messages_key(QUEUE)
_names = itertools.count()


@pytest.fixture
def plain_broker(settings: Any) -> Iterator[RedisBroker]:
    """Dramatiq's RedisBroker with no middleware at all: nothing of zapq's in the way."""
    broker = RedisBroker(url=settings.redis_url, namespace=NAMESPACE, middleware=[], heartbeat_timeout=60_000)
    broker.declare_queue("default")
    yield broker
    broker.close()


def declare(broker: RedisBroker, ran: list[Any]) -> dramatiq.Actor[Any, None]:
    def record(text: str) -> None:
        ran.append(text)

    return dramatiq.actor(record, actor_name=f"record_{next(_names)}", broker=broker, queue_name="default")


def common_lua_call(client: redis.Redis, call: str) -> Callable[..., Any]:
    """A script running one function of `lua/common.lua`, as FlowControl's scripts do."""
    return client.register_script((LUA_DIR / "common.lua").read_text() + f"\nreturn {call}\n")


def test_the_installed_dramatiq_is_the_version_the_protocol_was_checked_against() -> None:
    assert dramatiq.__version__.split(".")[:2] == CHECKED_AGAINST.split(".")


def test_a_message_enqueued_with_the_protocols_dispatch_call_runs_on_a_plain_dramatiq_worker(
    plain_broker: RedisBroker, redis_client: redis.Redis, wait_until: Callable[..., None]
) -> None:
    ran: list[Any] = []
    actor = declare(plain_broker, ran)
    message = actor.message("hello").copy(options={"redis_message_id": str(uuid4())})
    rid = message.options["redis_message_id"]

    keys, args = enqueue_call(plain_broker, message)
    redis_client.register_script(DISPATCH_SCRIPT)(keys=keys, args=args)

    assert redis_client.lrange(QUEUE, 0, -1) == [rid.encode()]
    assert Message.decode(redis_client.hget(BODIES, rid)).asdict() == message.asdict()
    worker = dramatiq.Worker(plain_broker, worker_threads=1, worker_timeout=100)
    worker.start()
    try:
        wait_until(lambda: ran, what="the message to run")
        plain_broker.join("default", timeout=10_000)
        worker.join()
    finally:
        worker.stop()
    assert ran == ["hello"]
    assert redis_client.hlen(BODIES) == 0
    assert not list(redis_client.scan_iter(acks_key_pattern(NAMESPACE)))  # acked: no unacked set left


def test_the_protocols_key_names_are_where_dramatiq_keeps_queues_delays_acks_and_dead_letters(
    plain_broker: RedisBroker, redis_client: redis.Redis
) -> None:
    actor = declare(plain_broker, [])
    now = plain_broker.enqueue(actor.message("now")).options["redis_message_id"].encode()
    later = plain_broker.enqueue(actor.message("later"), delay=60_000).options["redis_message_id"].encode()
    delayed = delay_queue_key(NAMESPACE, "default")

    assert redis_client.lrange(QUEUE, 0, -1) == [now] and redis_client.hkeys(BODIES) == [now]
    assert redis_client.lrange(delayed, 0, -1) == [later]
    assert redis_client.hkeys(messages_key(delayed)) == [later]

    consumer = plain_broker.consume("default", prefetch=1, timeout=100)
    delay_consumer = plain_broker.consume(dq_name("default"), prefetch=1, timeout=100)
    fetched, fetched_later = next(consumer), next(delay_consumer)

    worker_id = plain_broker.broker_id
    assert redis_client.smembers(acks_key(NAMESPACE, worker_id, "default")) == {now}
    assert redis_client.smembers(acks_key(NAMESPACE, worker_id, dq_name("default"))) == {later}
    assert redis_client.zscore(heartbeat_key(NAMESPACE), worker_id) is not None

    consumer.nack(fetched)
    delay_consumer.nack(fetched_later)  # a delayed message's dead letter is its queue's

    dead = dead_letter_key(NAMESPACE, "default")
    assert dead == dead_letter_key(NAMESPACE, dq_name("default"))
    assert set(redis_client.zrange(dead, 0, -1)) == {now, later}
    assert set(redis_client.hkeys(messages_key(dead))) == {now, later}


def test_flow_controls_ack_uses_the_consumers_keys_and_leaves_redis_as_dramatiqs_ack_does(
    plain_broker: RedisBroker, redis_client: redis.Redis
) -> None:
    actor = declare(plain_broker, [])
    for text in ("theirs", "ours"):
        plain_broker.enqueue(actor.message(text))
    consumer = plain_broker.consume("default", prefetch=2, timeout=100)
    theirs, ours = next(consumer), next(consumer)
    acks = acks_key(NAMESPACE, plain_broker.broker_id, "default")
    assert redis_client.scard(acks) == 2

    consumer.ack(theirs)  # Dramatiq's own
    keys, args = ack_call(plain_broker, ours)
    common_lua_call(redis_client, "dramatiq_ack(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3])")(
        keys=keys, args=args
    )

    assert keys == [acks, BODIES, heartbeat_key(NAMESPACE)]
    assert redis_client.scard(acks) == 0 and redis_client.hlen(BODIES) == 0
    assert redis_client.llen(QUEUE) == 0


def test_flow_controls_requeue_and_park_treat_a_message_as_dramatiqs_requeue_would(
    plain_broker: RedisBroker, redis_client: redis.Redis
) -> None:
    actor = declare(plain_broker, [])
    for text in ("theirs", "ours", "parked"):
        plain_broker.enqueue(actor.message(text))
    consumer = plain_broker.consume("default", prefetch=3, timeout=100)
    theirs, ours, parked = next(consumer), next(consumer), next(consumer)
    rids = [message.options["redis_message_id"].encode() for message in (theirs, ours, parked)]

    consumer.requeue([theirs])  # Dramatiq's own
    keys, args = ack_call(plain_broker, ours)
    common_lua_call(redis_client, "dramatiq_requeue(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3])")(
        keys=keys, args=args
    )
    keys, args = ack_call(plain_broker, parked)
    common_lua_call(redis_client, "dramatiq_park(KEYS[1], KEYS[3], ARGV[1], ARGV[2], ARGV[3])")(
        keys=keys, args=args
    )

    assert redis_client.scard(acks_key(NAMESPACE, plain_broker.broker_id, "default")) == 0
    assert redis_client.lrange(QUEUE, 0, -1) == rids[:2]  # back on the queue, in order
    assert set(redis_client.hkeys(BODIES)) == set(rids)  # a parked body waits for its release
    again = plain_broker.consume("default", prefetch=2, timeout=100)
    assert [next(again).message_id, next(again).message_id] == [theirs.message_id, ours.message_id]
