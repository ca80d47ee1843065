"""A RedisBroker whose acks FlowControl can take over: success record and ack in one script.

Dramatiq acks a message with its own script call after every after-hook has run. For a
message FlowControl let run, that ack would be a round trip right after the one that
records its success; here the consumer hands the ack to FlowControl instead, which runs
both in `lua/after_success.lua` (group-committed with other threads' calls). The ack still
happens where Dramatiq's would, after every middleware's after-hook, and the success record
is written in the same atomic step, never after it. Messages FlowControl did not touch
are acked exactly as by Dramatiq.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis
from dramatiq.broker import MessageProxy
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.common import current_millis
from dramatiq.errors import ConnectionClosed

#: Attribute FlowControl sets on a MessageProxy: called with the ack's keys and arguments
#: (empty lists for a nack) instead of Dramatiq's ack. `acked` when its decision acked it.
ACK_HANDLER = "_zapq_ack_handler"

AckHandler = Callable[[list[str], list[Any]], None]


def same_server(first: redis.Redis, second: redis.Redis) -> bool:
    """Whether two clients talk to the same Redis database (same address or socket, same db)."""

    def address(client: redis.Redis) -> tuple[Any, ...]:
        kwargs = client.connection_pool.connection_kwargs
        return (kwargs.get("host"), kwargs.get("port"), kwargs.get("path"), kwargs.get("db", 0))

    return address(first) == address(second)


def ack_call(broker: RedisBroker, message: MessageProxy) -> tuple[list[str], list[Any]]:
    """Keys and arguments of `dramatiq_ack` (lua/common.lua) for a message being processed.

    The consumer that acks a message is the one of its queue (`Worker.consumers[queue_name]`).
    """
    namespace, broker_id, queue_name = broker.namespace, broker.broker_id, message.queue_name
    keys = [
        f"{namespace}:__acks__.{broker_id}.{queue_name}",
        f"{namespace}:{queue_name}.msgs",
        f"{namespace}:__heartbeats__",
    ]
    return keys, [message.options["redis_message_id"], broker_id, current_millis()]


def acked(keys: list[str], args: list[Any]) -> None:
    """The ack handler of a message FlowControl already acked with its decision."""


class FlowControlRedisBroker(RedisBroker):
    """`dramatiq.brokers.redis.RedisBroker`, whose consumers let FlowControl ack its messages."""

    @property
    def consumer_class(self) -> type[_RedisConsumer]:
        return _FlowControlConsumer


class _FlowControlConsumer(_RedisConsumer):
    def ack(self, message: MessageProxy) -> None:
        handler: AckHandler | None = getattr(message, ACK_HANDLER, None)
        if handler is None:
            super().ack(message)
            return
        if message.queue_name != self.queue_name:
            # Acked on another queue than its own (Dramatiq's comment: a delayed message): the
            # handler still records what it must, and Dramatiq acks as it always does.
            _record_without_ack(handler)
            super().ack(message)
            return
        keys, args = ack_call(self.broker, message)
        try:
            handler(keys, args)
        except redis.RedisError as error:  # Dramatiq retries a post-process that lost its connection
            raise ConnectionClosed(error) from None
        finally:
            self.queued_message_ids.discard(message.message_id)
        delattr(message, ACK_HANDLER)

    def nack(self, message: MessageProxy) -> None:
        # A later middleware failed a message after FlowControl saw it succeed: record that
        # success as FlowControl would have, then dead-letter it as Dramatiq does.
        handler: AckHandler | None = getattr(message, ACK_HANDLER, None)
        if handler is not None:
            _record_without_ack(handler)
            delattr(message, ACK_HANDLER)
        super().nack(message)


def _record_without_ack(handler: AckHandler) -> None:
    """What the handler records besides the ack (a success), with Dramatiq left to ack or nack."""
    try:
        handler([], [])
    except redis.RedisError as error:
        raise ConnectionClosed(error) from None
