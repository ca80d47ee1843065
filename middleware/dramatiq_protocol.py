"""What zapq borrows from Dramatiq's private Redis protocol, in one place.

Dramatiq's RedisBroker keeps its state in keys that `dramatiq/brokers/redis/dispatch.lua`
names, and drives them through that script and its private `_RedisConsumer`. zapq works
inside that protocol: FlowControl's scripts ack, park and requeue messages and flush
debounce batches onto queues, and the web enqueues through `dispatch` without `send()`.
None of it is public API, so pyproject pins dramatiq to the minor version below and
`tests/middleware/test_dramatiq_protocol.py` checks it against the installed Dramatiq.

On a Dramatiq upgrade, re-check against `dramatiq/brokers/redis.py` and `dispatch.lua`:

1. Key names (the functions below): a queue is a list of ids `{ns}:{queue}` beside a hash of
   bodies `<list>.msgs`; a delay queue is the queue named `{queue}.DQ`; dead letters are the
   zset `{ns}:{queue}.XQ`; each worker's fetched-but-unacked ids are the set
   `{ns}:__acks__.{worker_id}.{queue}`; heartbeats are the zset `{ns}:__heartbeats__`.
2. `dispatch`'s arguments (`RedisBroker._dispatch`): KEYS = [namespace], ARGV = [command,
   timestamp, queue_name, worker_id, heartbeat_timeout, dead_message_ttl, do_maintenance,
   max_unpack_size, *command arguments]; "enqueue" takes the redis message id and the body.
   `enqueue_call` builds them for `web/enqueue.py`.
3. What "ack", "requeue" and "enqueue" do in `dispatch.lua`. `lua/common.lua` does the same
   in FlowControl's own scripts: `dramatiq_ack` (heartbeat, SREM from the acks set, HDEL the
   body), `dramatiq_park` (an ack that keeps the body), `dramatiq_requeue` (SREM, RPUSH back on
   the list named by stripping `.msgs`), `flush_window` (HSET the body, RPUSH the id), and
   `settle_waiters` and `flush_due.lua` (a parked message's body is `<queue list>.msgs`).
   `ack_call` gives them the keys and arguments.
4. `_RedisConsumer` (`RedisConsumer` here), which `middleware/redis_broker.py` subclasses:
   its `__next__`, `ack`, `nack` and `requeue`, its `queued_message_ids`, that it raises
   `ConnectionClosed` on a lost connection, and `broker.do_<command>` calling `dispatch`.
5. The options RedisBroker.enqueue sets: `redis_message_id` (a delivery's id in Redis, the
   member of the lists and sets above) and `eta` on a delayed message.
6. The worker's ConsumerThread: on `ConnectionClosed` it drops the messages of a delay queue
   it holds in memory, and it acks a delayed message on the delay queue it came from.
"""

from __future__ import annotations

from typing import Any

from dramatiq.broker import MessageProxy
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer, _scripts
from dramatiq.common import current_millis, dq_name, xq_name
from dramatiq.message import Message

#: The Dramatiq minor version this module was checked against (pyproject pins `>=2.2,<2.3`).
CHECKED_AGAINST = "2.2"

#: RedisBroker's own default namespace (zapq's REDIS_NAMESPACE defaults to it).
DEFAULT_NAMESPACE = "dramatiq"

#: The `dispatch` script's source, which every RedisBroker registers.
DISPATCH_SCRIPT: bytes = _scripts["dispatch"]

#: Dramatiq's consumer, private to it.
RedisConsumer = _RedisConsumer


def queue_key(namespace: str, queue_name: str) -> str:
    """A queue's list of message ids; `queue_name` may be a delay queue's (`dq_name`)."""
    return f"{namespace}:{queue_name}"


def messages_key(list_key: str) -> str:
    """The hash of bodies beside a queue, delay queue or dead-letter set (the Lua derives it so too)."""
    return f"{list_key}.msgs"


def delay_queue_key(namespace: str, queue_name: str) -> str:
    """The list of a queue's delayed messages (retries, `delay=`), held by workers until their eta."""
    return queue_key(namespace, dq_name(queue_name))


def dead_letter_key(namespace: str, queue_name: str) -> str:
    """The zset of a queue's dead letters (a delay queue's go to its queue's), by when they died."""
    return f"{namespace}:{xq_name(queue_name)}"


def acks_key(namespace: str, worker_id: str, queue_name: str) -> str:
    """The set of ids a worker (a broker's `broker_id`) fetched from a queue and has not acked."""
    return f"{namespace}:__acks__.{worker_id}.{queue_name}"


def acks_key_pattern(namespace: str) -> str:
    """A SCAN pattern for every worker's unacked set."""
    return f"{namespace}:__acks__.*"


def heartbeat_key(namespace: str) -> str:
    """The zset of worker ids by last heartbeat; maintenance requeues the unacked of silent ones."""
    return f"{namespace}:__heartbeats__"


def is_delay_queue(queue_name: str) -> bool:
    return queue_name == dq_name(queue_name)


def enqueue_call(broker: RedisBroker, message: Message[Any]) -> tuple[list[str], list[Any]]:
    """Keys and arguments of `dispatch` that enqueue a message as `RedisBroker.enqueue` does.

    The message must carry its `redis_message_id`. Maintenance is left to workers, and the
    unpack size matters only to "fetch", so both are 0.
    """
    arguments = [
        "enqueue",
        current_millis(),
        message.queue_name,
        broker.broker_id,
        broker.heartbeat_timeout,
        broker.dead_message_ttl,
        0,
        0,
        message.options["redis_message_id"],
        message.encode(),
    ]
    return [broker.namespace], arguments


def ack_call(broker: RedisBroker, message: MessageProxy) -> tuple[list[str], list[Any]]:
    """Keys and arguments of `dramatiq_ack` (lua/common.lua) for a message being processed.

    The consumer that acks a message is the one of its queue (`Worker.consumers[queue_name]`).
    """
    namespace, broker_id, queue_name = broker.namespace, broker.broker_id, message.queue_name
    keys = [
        acks_key(namespace, broker_id, queue_name),
        messages_key(queue_key(namespace, queue_name)),
        heartbeat_key(namespace),
    ]
    return keys, [message.options["redis_message_id"], broker_id, current_millis()]
