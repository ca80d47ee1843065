"""Debounce with accumulation: what a merge sends to Redis, and what a batch run receives.

A debounced message is merged into its window (at send with `FlowControlRedisBroker`,
so a window follows the customer's clock, not the workers'), and the window is flushed
as one batch message. Each merged item is stored as a JSON header the Lua side reads
(guard keys, send time) and, after a newline, the item as Python encoded it, which the
Lua side never decodes: any Python string, lone surrogates included, survives.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from dramatiq import Actor
from dramatiq.common import q_name
from dramatiq.message import Message

from middleware.correlation import CORRELATION_OPTION, MERGED_CORRELATIONS_OPTION
from middleware.keyspace import Keyspace
from middleware.options import AnyMessage, read_option
from middleware.planning import BATCH_OPTION, Defaults, Plan

CHECKED_OPTION = "zapq_checked"
SENT_OPTION = "zapq_sent_ns"
FLUSHED_AT_OPTION = "zapq_flushed_at_ms"
OPENED_AT_OPTION = "zapq_window_opened_at_ms"

#: Guard kinds that must live as long as their batch is unfinished (a dedup guard keeps its window).
_LIVES_WITH_BATCH = ("idem", "msg")


def merge_arguments(
    actor: Actor[Any, Any], message: AnyMessage, plan: Plan, defaults: Defaults, keys: Keyspace,
    broker_namespace: str,
) -> list[Any]:  # fmt: skip
    """The merge-mode tail of `before_process.lua`'s arguments (see the script's header)."""
    batch_id = str(uuid.uuid4())
    flush_rid = str(uuid.uuid4())
    queue_name = q_name(message.queue_name)
    flush_options: dict[str, Any] = {BATCH_OPTION: batch_id, "redis_message_id": flush_rid, CHECKED_OPTION: 1}
    if plan.throttle_source is not None:
        flush_options["throttle_key"] = plan.throttle_source
    correlation_id = message.options.get(CORRELATION_OPTION)
    if correlation_id:  # used only if this message opens the window: the batch runs under its id
        flush_options[CORRELATION_OPTION] = correlation_id
    flush_message: Message[Any] = Message(
        queue_name=queue_name, actor_name=actor.actor_name, args=(), kwargs={}, options=flush_options,
        message_id=batch_id,
    )  # fmt: skip
    if len(message.args) == 1 and not message.kwargs:
        item = message.args[0]
    else:
        item = {"args": list(message.args), "kwargs": message.kwargs}
    sent = message.options.get(SENT_OPTION) or message.message_timestamp * 1_000_000
    header = {
        "g": plan.guard_keys,
        "x": [guard.key for guard in plan.guards if guard.kind in _LIVES_WITH_BATCH],
        "t": sent,
    }
    if correlation_id:
        header["c"] = correlation_id
    entry = json.dumps(header, separators=(",", ":")) + "\n" + json.dumps(item, separators=(",", ":"))
    return [
        batch_id,
        int(read_option(message, actor, "debounce_window", defaults.debounce_window)),
        int(read_option(message, actor, "debounce_max_wait", defaults.debounce_max_wait)),
        int(read_option(message, actor, "debounce_max_items", defaults.debounce_max_items)),
        entry,
        queue_name,
        broker_namespace,
        flush_message.encode(),
        flush_rid,
        keys.debounce_items_prefix,
        plan.idempotency_ttl,
        keys.batch_guard_prefix(actor.actor_name),
        actor.actor_name,
    ]


def unpack_batch(entries: list[bytes]) -> tuple[list[Any], dict[str, Any]]:
    """A batch run's items, in the order they were sent, and its options: its window's open and
    flush times, and its items' distinct correlation ids in send order."""
    items: list[tuple[int, Any, str | None]] = []
    options: dict[str, Any] = {}
    for raw in entries:
        header_text, _, item_text = raw.decode("utf-8", "surrogatepass").partition("\n")
        header = json.loads(header_text)
        if item_text:
            items.append((int(header.get("t", 0)), json.loads(item_text), header.get("c")))
        elif "f" in header and OPENED_AT_OPTION not in options:
            options.update({OPENED_AT_OPTION: header["o"], FLUSHED_AT_OPTION: header["f"]})
    # Senders merge concurrently; send time restores the order messages were sent in.
    items.sort(key=lambda entry: entry[0])
    correlation_ids = list(dict.fromkeys(str(c) for _, _, c in items if c))
    if correlation_ids:
        options[MERGED_CORRELATIONS_OPTION] = correlation_ids
    return [item for _, item, _ in items], options


def stamp_sent(message: Message[Any]) -> None:
    """Record the send time once per message (retries and delayed copies carry it)."""
    message.options[CHECKED_OPTION] = 1
    message.options[SENT_OPTION] = time.time_ns()  # orders a debounce batch; message_timestamp is only ms
