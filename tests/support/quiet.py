"""Waiting until no actor can run again, instead of sleeping long enough that none did.

A message is queued, delayed, running or held by a worker while its body is in its queue's
`.msgs` hash (or the delay queue's): Dramatiq removes it only at the ack, and FlowControl acks in
the same script that records the outcome. After-hooks that send more (retries) run before that
ack, and actors send what follows from inside their run. Flow control holds the rest: open
debounce windows, parked duplicates and throttled excess, each listed in one zset until the
script that queues them. Every move is one Lua script, so one MULTI that finds all of it empty
means nothing more comes until something new is sent.
"""

from __future__ import annotations

from dramatiq.brokers.redis import RedisBroker

from middleware.dramatiq_protocol import messages_key, queue_key
from middleware.flow_control import find_flow_control
from tests.support.waiting import wait_until


def pending_work(broker: RedisBroker) -> dict[str, int]:
    """The non-empty keys that hold work for the broker's workers, with their sizes."""
    flow_control = find_flow_control(broker)
    assert flow_control is not None, "the broker runs no FlowControl"
    queues = [queue_key(broker.namespace, name) for name in (*broker.queues, *broker.delay_queues)]
    zsets = [flow_control.keys.debounce_due, flow_control.keys.waits, flow_control.keys.throttle_due]
    with broker.client.pipeline(transaction=True) as pipeline:
        for queue in queues:
            pipeline.llen(queue)
            pipeline.hlen(messages_key(queue))
        for zset in zsets:
            pipeline.zcard(zset)
        sizes = pipeline.execute()
    keys = [key for queue in queues for key in (queue, messages_key(queue))] + zsets
    return {key: size for key, size in zip(keys, sizes, strict=True) if size}


def wait_until_quiet(broker: RedisBroker, timeout: float = 15.0) -> None:
    """Return once nothing is queued, delayed, running, in a debounce window or parked."""
    try:
        wait_until(lambda: not pending_work(broker), timeout=timeout, what="no pending work")
    except AssertionError as error:
        raise AssertionError(f"{error}; still pending: {pending_work(broker)}") from None
