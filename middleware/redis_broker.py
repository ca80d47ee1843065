"""A RedisBroker that lets FlowControl ack, park and requeue its messages, and merge at send.

Dramatiq acks a message with its own script call after every after-hook has run. For a
message FlowControl let run, that ack would be a round trip right after the one that
records its success; here the consumer hands the ack to FlowControl instead, which runs
both in one script (group-committed with other threads' calls). The ack still happens
where Dramatiq's would, after every middleware's after-hook, and the record is written
in the same atomic step, never after it. A failed run's give-back and its ack, or its
requeue when its retry could not be enqueued, are one step too. Messages FlowControl
did not touch are acked exactly as by Dramatiq.

`enqueue` merges a debounced message into its window in Redis instead of queueing it,
so a debounce window is measured from when messages were sent, whatever the workers
are doing, and workers only ever fetch whole batches.

What this borrows from Dramatiq's private Redis protocol (key names, the ack,
`_RedisConsumer`) is named in `middleware.dramatiq_protocol`, with what to re-check on an upgrade.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from uuid import uuid4

import redis
from dramatiq.broker import MessageProxy
from dramatiq.brokers.redis import RedisBroker
from dramatiq.errors import ConnectionClosed
from dramatiq.message import Message

from middleware.dramatiq_protocol import RedisConsumer, ack_call, acks_key, is_delay_queue

# Named here too for middleware.flow_control, which imports them from this module.

logger = logging.getLogger(__name__)

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


def acked(keys: list[str], args: list[Any]) -> None:
    """The ack handler of a message FlowControl already acked with its decision."""


class FlowControlRedisBroker(RedisBroker):
    """`dramatiq.brokers.redis.RedisBroker`, whose consumers let FlowControl ack its messages."""

    @property
    def consumer_class(self) -> type[RedisConsumer]:
        return _FlowControlConsumer

    def consume(self, queue_name: str, prefetch: int = 1, timeout: int = 5000) -> Any:
        """Dramatiq's consumer; one restarted after a lost connection first puts back the messages
        this worker holds unacked but no longer has in memory.

        Two paths leave such orphans, and nothing recovers them while the worker lives and
        heartbeats: a fetch whose reply was lost (Redis moved the messages to the unacked set, the
        worker never saw them), and Dramatiq's ConsumerThread, which drops its in-memory delay
        queue on a connection error (the retries of every run that failed around a Redis restart).
        They go back on their queue; messages still in flight in this process are left alone.
        """
        if queue_name in self._reconnecting:
            acks = acks_key(self.namespace, self.broker_id, queue_name)
            try:
                unacked = {
                    rid.decode() if isinstance(rid, bytes) else str(rid) for rid in self.client.smembers(acks)
                }
                orphans = sorted(unacked - self.in_flight(queue_name))
                if orphans:
                    self.do_requeue(queue_name, *orphans)
                    logger.warning("requeued %d messages of %s that a lost connection orphaned",
                                   len(orphans), queue_name)  # fmt: skip
            except redis.ConnectionError as error:
                raise ConnectionClosed(error) from None
            self._reconnecting.discard(queue_name)
        return super().consume(queue_name, prefetch, timeout)

    @property
    def _reconnecting(self) -> set[str]:
        if not hasattr(self, "_queues_reconnecting"):
            self._queues_reconnecting: set[str] = set()
        return self._queues_reconnecting

    def in_flight(self, queue_name: str) -> set[str]:
        """The redis message ids this process fetched from a queue and has not acked yet."""
        if not hasattr(self, "_in_flight"):
            self._in_flight: dict[str, set[str]] = {}
        return self._in_flight.setdefault(queue_name, set())

    def enqueue(self, message: Message[Any], *, delay: int | None = None) -> Message[Any]:
        flow_control = self._flow_control()
        if delay is not None or flow_control is None or not flow_control.merges_on_send(self, message):
            return super().enqueue(message, delay=delay)
        message = message.copy(options={"redis_message_id": str(uuid4())})
        self.emit_before("enqueue", message, delay)
        if not flow_control.absorb_on_send(self, message):
            self.do_enqueue(message.queue_name, message.options["redis_message_id"], message.encode())
        self.emit_after("enqueue", message, delay)
        return message

    def _flow_control(self) -> Any:
        from middleware.flow_control import find_flow_control

        return find_flow_control(self)


class _FlowControlConsumer(RedisConsumer):
    def __next__(self) -> MessageProxy | None:
        in_flight = self.broker.in_flight(self.queue_name)
        try:
            message = super().__next__()
        except ConnectionClosed:
            self.broker._reconnecting.add(self.queue_name)
            if is_delay_queue(self.queue_name):  # its ConsumerThread now drops what it delayed
                in_flight.clear()
            raise
        if message is not None:
            in_flight.add(message.options["redis_message_id"])
        return message

    def _done(self, message: MessageProxy) -> None:
        self.broker.in_flight(self.queue_name).discard(message.options.get("redis_message_id"))

    def requeue(self, messages: Any) -> None:
        messages = list(messages)
        super().requeue(messages)
        for message in messages:
            self._done(message)

    def ack(self, message: MessageProxy) -> None:
        handler: AckHandler | None = getattr(message, ACK_HANDLER, None)
        if handler is None:
            super().ack(message)
            self._done(message)
            return
        if message.queue_name != self.queue_name:
            # Acked on another queue than its own (Dramatiq's comment: a delayed message): the
            # handler still records what it must, and Dramatiq acks as it always does.
            _run_handler(handler, [], [])
            super().ack(message)
            self._done(message)
            return
        keys, args = ack_call(self.broker, message)
        try:
            if not _run_handler(handler, keys, args):
                super().ack(message)
        finally:
            self.queued_message_ids.discard(message.message_id)
        self._done(message)
        delattr(message, ACK_HANDLER)

    def nack(self, message: MessageProxy) -> None:
        # A message that failed for good: FlowControl gives back what it held, then Dramatiq
        # dead-letters it as it always does.
        handler: AckHandler | None = getattr(message, ACK_HANDLER, None)
        if handler is not None:
            _run_handler(handler, [], [])
            delattr(message, ACK_HANDLER)
        super().nack(message)
        self._done(message)


def _run_handler(handler: AckHandler, keys: list[str], args: list[Any]) -> bool:
    """Run an ack handler; False when it failed for a reason other than the connection.

    A lost connection is Dramatiq's ConnectionClosed, which makes the worker retry the ack
    until Redis answers. Any other error (a script error) is logged, and the caller falls
    back to Dramatiq's own ack rather than retrying something that cannot succeed.
    """
    try:
        handler(keys, args)
    except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError) as error:
        raise ConnectionClosed(error) from None
    except redis.RedisError:
        logger.exception("flow-control ack handler failed; acking as Dramatiq does")
        return False
    return True
