"""Idempotency, debounce with accumulation, content dedup and per-key throttle, in one middleware.

All four features decide in a single Lua call per hook (`lua/before_process.lua`,
`lua/after_success.lua`, `lua/after_failure.lua`), so a message with every feature
on costs two script calls, shared between worker threads (`middleware.batching`),
and no decision is a read followed by a write. With `FlowControlRedisBroker` those
calls also ack the message, in place of Dramatiq's own ack call.
See the README's "Flow control" section for the options table and the keyspace.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from functools import partial
from typing import Any, cast

import redis
from dramatiq import Actor, Broker
from dramatiq.broker import MessageProxy
from dramatiq.common import q_name
from dramatiq.message import Message
from dramatiq.middleware import Middleware, SkipMessage

from middleware import metrics
from middleware.background import Ticker
from middleware.errors import DuplicateMessage, FlowControlUnavailable, UnkeyableMessage
from middleware.keyspace import DEFAULT_NAMESPACE, Keyspace
from middleware.options import (
    ACTOR_OPTIONS,
    THROTTLE_MODES,
    AnyMessage,
    content_hash,
    key_from_source,
    read_option,
    scheduled_tick_ms,
)
from middleware.redis_broker import ACK_HANDLER, FlowControlRedisBroker, ack_call, acked, same_server
from middleware.scripts import load_scripts

logger = logging.getLogger(__name__)

DEFAULT_IDEMPOTENCY_TTL = 24 * 3600 * 1000
DEFAULT_LEASE_MS = 30_000
DEFAULT_DEBOUNCE_WINDOW = 2_000
DEFAULT_DEBOUNCE_MAX_WAIT = 10_000
DEFAULT_DEBOUNCE_MAX_ITEMS = 100
DEFAULT_THROTTLE_LIMIT = 1
DEFAULT_THROTTLE_PERIOD = 24 * 3600 * 1000
DEFAULT_FLUSH_INTERVAL_S = 0.05
TICK_TTL = 24 * 3600 * 1000
MAX_DELAY_MS = 7 * 24 * 3600 * 1000 - 1
BATCH_OPTION = "zapq_batch"
CHECKED_OPTION = "zapq_checked"
SENT_OPTION = "zapq_sent_ns"
FLUSHED_AT_OPTION = "zapq_flushed_at_ms"
OPENED_AT_OPTION = "zapq_window_opened_at_ms"


DECIDED_SKIP = "_zapq_decided_skip"


class _DecidedSkipFilter(logging.Filter):
    """Drop Dramatiq's "Message ... was skipped." warning for skips this middleware decided and counted.

    Every message merged into a debounce window is a skip; a warning for each would bury real ones.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        return not (isinstance(args, tuple) and args and getattr(args[0], DECIDED_SKIP, None))


logging.getLogger("dramatiq.worker.WorkerThread").addFilter(_DecidedSkipFilter())


@dataclass
class Plan:
    """What one message asks of Redis: guards to acquire, a throttle slot, a debounce merge."""

    mode: str  # "run", "batch" or "merge"
    guards: list[tuple[str, int]] = field(default_factory=list)  # (key, ttl once finished)
    throttle_key: str = ""
    throttle_limit: int = 0
    throttle_period: int = 0
    throttle_mode: str = "drop"
    extra_key: str = ""  # batch: its items list; merge: its window hash
    keep_on_failure: bool = False
    lease_ms: int = DEFAULT_LEASE_MS


@dataclass
class HeldRun:
    token: str
    message_id: str
    plan: Plan


class FlowControl(Middleware):
    """Flow control for Dramatiq actors, backed by Redis.

    Parameters:
      client: The Redis client holding the middleware's state (the broker's is fine).
      namespace: Prefix of every key (see `middleware.keyspace`).
      idempotency_ttl: How long, in ms, a finished key is remembered.
      lease_ms: How long a run's lease lasts without renewal; a killed worker's
        lease expires after this, and a duplicate may run.
      debounce_window, debounce_max_wait, debounce_max_items: Debounce defaults.
      flush_interval_s: How often each worker process looks for due debounce windows.
    """

    def __init__(
        self,
        *,
        client: redis.Redis,
        namespace: str = DEFAULT_NAMESPACE,
        idempotency_ttl: int = DEFAULT_IDEMPOTENCY_TTL,
        lease_ms: int = DEFAULT_LEASE_MS,
        debounce_window: int = DEFAULT_DEBOUNCE_WINDOW,
        debounce_max_wait: int = DEFAULT_DEBOUNCE_MAX_WAIT,
        debounce_max_items: int = DEFAULT_DEBOUNCE_MAX_ITEMS,
        flush_interval_s: float = DEFAULT_FLUSH_INTERVAL_S,
    ) -> None:
        self.client = client
        self.keys = Keyspace(namespace)
        self.idempotency_ttl = idempotency_ttl
        self.lease_ms = lease_ms
        self.debounce_window = debounce_window
        self.debounce_max_wait = debounce_max_wait
        self.debounce_max_items = debounce_max_items
        self.flush_interval_s = flush_interval_s
        self.scripts = load_scripts(client)
        self._held: dict[int, HeldRun] = {}
        self._held_lock = threading.Lock()
        self._threads: list[Ticker] = []
        self._takes_acks_of: dict[int, bool] = {}

    @property
    def actor_options(self) -> set[str]:
        return set(ACTOR_OPTIONS)

    # Enqueue: drop a content duplicate before it reaches the queue.

    def before_enqueue(self, broker: Broker, message: Message[Any], delay: int) -> None:
        options = message.options
        if CHECKED_OPTION in options or BATCH_OPTION in options or "scheduled_at" in options:
            return
        actor = broker.get_actor(message.actor_name)
        options[CHECKED_OPTION] = 1  # retries and delayed copies carry it: checked once per message
        options[SENT_OPTION] = time.time_ns()  # orders a debounce batch; message_timestamp is only ms
        if not read_option(message, actor, "dedup", None):
            return
        guard = self._dedup_guard(actor, message)
        raw_record = self.client.get(guard)
        record = raw_record.decode() if isinstance(raw_record, bytes) else raw_record
        if record is not None and not record.startswith("R|"):
            metrics.count(actor.actor_name, "dedup_dropped")
            raise DuplicateMessage(actor.actor_name, guard, record)

    # Consume: one script decides.

    def before_process_message(self, broker: Broker, message: MessageProxy) -> None:
        actor = broker.get_actor(message.actor_name)
        plain = message._message  # planning reads many attributes: skip the proxy's __getattr__
        try:
            plan = self._plan(actor, plain)
        except (KeyError, ValueError, TypeError) as error:
            logger.error("message %s of %s cannot be keyed: %s", message.message_id, actor.actor_name, error)
            raise UnkeyableMessage(str(error)) from error
        if plan is None:
            return
        token = uuid.uuid4().hex
        takes_acks = self._takes_acks(broker)
        # A duplicate, merged or dropped message is acked by the deciding script itself; one
        # re-delayed is acked after its copy is enqueued.
        ack_skipped = ("1" if plan.throttle_mode == "delay" else "2") if takes_acks else "0"
        keys = [guard for guard, _ in plan.guards] + [plan.throttle_key, plan.extra_key]
        args: list[Any] = [
            token, plan.lease_ms, self._gc_ms(plan), len(plan.guards),
            plan.throttle_limit, plan.throttle_period, plan.mode, message.message_id, ack_skipped,
        ]  # fmt: skip
        if plan.mode == "merge":
            keys.append(self.keys.debounce_due)
            args += self._merge_arguments(actor, plain, plan)
        if takes_acks:
            ack_keys, ack_args = ack_call(cast(FlowControlRedisBroker, broker), message)
            keys += ack_keys
            args += ack_args
        try:
            decision = self.scripts["before_process"](keys=keys, args=args)
        except redis.RedisError as error:
            raise FlowControlUnavailable(f"{message.message_id}: {error}") from error
        outcome = decision[0].decode()
        if outcome == "run":
            self._start_run(actor, message, plan, token, decision)
            return
        self._handle_refusal(broker, actor, message, plan, outcome, decision)
        setattr(message, DECIDED_SKIP, outcome)
        if takes_acks:
            acked_here = outcome != "wait" and (outcome != "throttled" or plan.throttle_mode != "delay")
            # Otherwise its ack joins the group-committed calls (`redis_broker`).
            setattr(message, ACK_HANDLER, acked if acked_here else self._ack)
        raise SkipMessage(f"{outcome}: {message.message_id}")

    def after_process_message(
        self,
        broker: Broker,
        message: MessageProxy,
        *,
        result: Any | None = None,
        exception: BaseException | None = None,
    ) -> None:
        held = self._release_hold(message)
        if held is None:
            return
        if exception is None:
            if self._takes_acks(broker):
                # Recorded when the consumer acks, in the ack's own script (`redis_broker`).
                setattr(message, ACK_HANDLER, partial(self._record_success, message.actor_name, held))
            else:
                self._record_success(message.actor_name, held, [], [])
            return
        self._give_back(message, held, final=bool(message.failed))

    def _record_success(
        self, actor_name: str, held: HeldRun, ack_keys: list[str], ack_args: list[Any]
    ) -> None:
        guards = held.plan.guards
        if not guards and not ack_keys:
            return
        keys = [guard for guard, _ in guards] + ack_keys
        args = [held.token, f"D|{held.message_id}", len(guards), *(ttl for _, ttl in guards), *ack_args]
        lost = self.scripts["after_success"](keys=keys, args=args)
        if lost:
            metrics.count(actor_name, "lease_lost", int(lost))

    def _ack(self, ack_keys: list[str], ack_args: list[Any]) -> None:
        if ack_keys:
            self.scripts["after_success"](keys=ack_keys, args=["", "", 0, *ack_args])

    def _takes_acks(self, broker: Broker) -> bool:
        """Whether the broker's consumers hand FlowControl its messages' acks (same Redis only)."""
        takes = self._takes_acks_of.get(id(broker))
        if takes is None:
            takes = isinstance(broker, FlowControlRedisBroker) and same_server(broker.client, self.client)
            self._takes_acks_of[id(broker)] = takes
        return takes

    def after_skip_message(self, broker: Broker, message: MessageProxy) -> None:
        held = self._release_hold(message)
        if held is not None:  # a later middleware skipped a message we had let through
            self._give_back(message, held, final=False)

    # Worker lifecycle: lease renewal and the debounce flusher.

    def after_worker_boot(self, broker: Broker, worker: Any) -> None:
        self._threads = [
            Ticker("zapq-lease-renewal", self.lease_ms / 3000, self._renew_leases),
            Ticker("zapq-debounce-flusher", self.flush_interval_s, self._flush_due_windows),
        ]
        for thread in self._threads:
            thread.start()

    def before_worker_shutdown(self, broker: Broker, worker: Any) -> None:
        for thread in self._threads:
            thread.stop()

    # Planning.

    def _plan(self, actor: Actor[Any, Any], message: AnyMessage) -> Plan | None:
        options = message.options
        lease_ms = int(read_option(message, actor, "lease_ms", self.lease_ms))
        keep = bool(read_option(message, actor, "keep_key_on_failure", False))
        idempotency_ttl = int(read_option(message, actor, "idempotency_ttl", self.idempotency_ttl))
        name = actor.actor_name

        if BATCH_OPTION in options:
            batch_id = options[BATCH_OPTION]
            plan = Plan("batch", keep_on_failure=keep, lease_ms=lease_ms)
            plan.guards.append((self.keys.guard(name, "batch", batch_id), idempotency_ttl))
            plan.extra_key = self.keys.debounce_items(batch_id)
            self._add_throttle(plan, actor, message)
            return plan

        debounced = "debounce_key" in options or "debounce" in actor.options
        plan = Plan("merge" if debounced else "run", keep_on_failure=keep, lease_ms=lease_ms)
        idempotency_key = self._idempotency_key(actor, message)
        if idempotency_key is not None:
            plan.guards.append((self.keys.guard(name, "idem", idempotency_key), idempotency_ttl))
        elif debounced:  # a redelivered raw message must not be merged twice
            plan.guards.append((self.keys.guard(name, "msg", message.message_id), idempotency_ttl))
        dedup_window = read_option(message, actor, "dedup", None)
        if dedup_window:
            plan.guards.append((self._dedup_guard(actor, message), int(dedup_window)))
        if "scheduled_at" in options and not debounced:
            tick = scheduled_tick_ms(options["scheduled_at"])
            plan.guards.append((self.keys.guard(name, "tick", str(tick)), TICK_TTL))
        if debounced:
            key = options.get("debounce_key") or key_from_source(actor.options["debounce"], actor, message)
            plan.extra_key = self.keys.debounce_window(name, str(key))
            return plan
        self._add_throttle(plan, actor, message)
        if not plan.guards and not plan.throttle_key:
            return None
        return plan

    def _throttle_key(self, actor: Actor[Any, Any], message: AnyMessage) -> str | None:
        if "throttle_key" in message.options:
            return str(message.options["throttle_key"])
        if "throttle" in actor.options:
            return key_from_source(actor.options["throttle"], actor, message)
        return None

    def _add_throttle(self, plan: Plan, actor: Actor[Any, Any], message: AnyMessage) -> None:
        key = self._throttle_key(actor, message)
        if key is None:
            return
        mode = read_option(message, actor, "throttle_mode", "drop")
        if mode not in THROTTLE_MODES:
            raise ValueError(
                f"{actor.actor_name}: throttle_mode must be one of {THROTTLE_MODES}, not {mode!r}"
            )
        plan.throttle_key = self.keys.throttle(actor.actor_name, key)
        plan.throttle_limit = int(read_option(message, actor, "throttle_limit", DEFAULT_THROTTLE_LIMIT))
        plan.throttle_period = int(read_option(message, actor, "throttle_period", DEFAULT_THROTTLE_PERIOD))
        plan.throttle_mode = mode

    def _idempotency_key(self, actor: Actor[Any, Any], message: AnyMessage) -> str | None:
        if "idempotency_key" in message.options:
            return str(message.options["idempotency_key"])
        source = actor.options.get("idempotency_key")
        return None if source is None else key_from_source(source, actor, message)

    def _dedup_guard(self, actor: Actor[Any, Any], message: AnyMessage) -> str:
        source = read_option(message, actor, "dedup_key", None)
        if source is not None:
            digest = key_from_source(source, actor, message)
        else:
            digest = content_hash(
                actor.actor_name, message, read_option(message, actor, "dedup_fields", None)
            )
        return self.keys.guard(actor.actor_name, "dedup", digest)

    def _gc_ms(self, plan: Plan) -> int:
        # A lease record outlives its deadline so an expired lease can be recognised (and
        # counted) by the next run, but it cannot outlive a crashed process forever.
        return plan.lease_ms * 20

    def _merge_arguments(self, actor: Actor[Any, Any], message: AnyMessage, plan: Plan) -> list[Any]:
        batch_id = str(uuid.uuid4())
        flush_rid = str(uuid.uuid4())
        queue_name = q_name(message.queue_name)
        flush_options: dict[str, Any] = {
            BATCH_OPTION: batch_id,
            "redis_message_id": flush_rid,
            CHECKED_OPTION: 1,
        }
        # A batch has no arguments of its own to key on: it is throttled on the key of the
        # message that opened its window (the one whose flush message the window keeps).
        throttle_key = self._throttle_key(actor, message)
        if throttle_key is not None:
            flush_options["throttle_key"] = throttle_key
        flush_message: Message[Any] = Message(
            queue_name=queue_name,
            actor_name=actor.actor_name,
            args=(),
            kwargs={},
            options=flush_options,
            message_id=batch_id,
        )
        if len(message.args) == 1 and not message.kwargs:
            item = message.args[0]
        else:
            item = {"args": list(message.args), "kwargs": message.kwargs}
        guards = [guard for guard, _ in plan.guards]
        sent = message.options.get(SENT_OPTION, message.message_timestamp * 1_000_000)
        entry = json.dumps({"g": guards, "t": sent, "v": item}, separators=(",", ":"))
        idempotency_ttl = int(read_option(message, actor, "idempotency_ttl", self.idempotency_ttl))
        broker = actor.broker
        return [
            batch_id,
            int(read_option(message, actor, "debounce_window", self.debounce_window)),
            int(read_option(message, actor, "debounce_max_wait", self.debounce_max_wait)),
            int(read_option(message, actor, "debounce_max_items", self.debounce_max_items)),
            entry,
            idempotency_ttl,
            queue_name,
            getattr(broker, "namespace", "dramatiq"),
            flush_message.encode(),
            flush_rid,
            self.keys.debounce_items_prefix,
            idempotency_ttl,
        ]

    # Outcomes.

    def _start_run(
        self, actor: Actor[Any, Any], message: MessageProxy, plan: Plan, token: str, decision: list[Any]
    ) -> None:
        if int(decision[1]):
            metrics.count(actor.actor_name, "lease_expired", int(decision[1]))
        if plan.mode == "batch":
            entries = [json.loads(entry) for entry in decision[2]]
            markers = [entry for entry in entries if "f" in entry]
            # Worker threads merge concurrently; send time restores the order messages were sent in.
            items = [entry["v"] for entry in sorted((e for e in entries if "v" in e), key=lambda e: e["t"])]
            options = (
                {OPENED_AT_OPTION: markers[0]["o"], FLUSHED_AT_OPTION: markers[0]["f"]} if markers else {}
            )
            message._message = message._message.copy(args=(items,), options=options)
        with self._held_lock:
            self._held[id(message)] = HeldRun(token, message.message_id, plan)

    def _handle_refusal(
        self,
        broker: Broker,
        actor: Actor[Any, Any],
        message: MessageProxy,
        plan: Plan,
        outcome: str,
        decision: list[Any],
    ) -> None:
        name = actor.actor_name
        if outcome == "duplicate":
            guard_key = plan.guards[int(decision[1]) - 1][0]
            kind = guard_key.split(":")[-2]
            metrics.count(name, "dedup_dropped" if kind in ("dedup", "tick") else "duplicate_skipped")
        elif outcome == "merged":
            metrics.count(name, "debounce_merged")
            if int(decision[2]):
                metrics.count(name, "batch_flushed")
        elif outcome == "wait":
            # The key runs elsewhere: come back when its lease would end, or sooner.
            wait_ms = min(int(decision[2]), plan.lease_ms)
            self._redeliver_later(broker, message, max(50, wait_ms // 2) + random.randint(0, 100))
            metrics.count(name, "duplicate_waited")
        elif outcome == "throttled":
            if plan.throttle_mode == "delay":
                self._redeliver_later(broker, message, int(decision[2]) + random.randint(1, 250))
                metrics.count(name, "throttled_delayed")
            else:
                metrics.count(name, "throttled_dropped")

    def _redeliver_later(self, broker: Broker, message: MessageProxy, delay_ms: int) -> None:
        # Enqueued before this one is acked: a crash in between leaves two copies of the same
        # message id, and the guards let only one of them run.
        broker.enqueue(message._message.copy(), delay=min(delay_ms, MAX_DELAY_MS))

    def _release_hold(self, message: MessageProxy) -> HeldRun | None:
        with self._held_lock:
            return self._held.pop(id(message), None)

    def _give_back(self, message: MessageProxy, held: HeldRun, *, final: bool) -> None:
        plan = held.plan
        keys = [guard for guard, _ in plan.guards] + [plan.throttle_key, plan.extra_key if final else ""]
        args: list[Any] = [held.token, int(plan.keep_on_failure), int(final), f"F|{held.message_id}"]
        args += [ttl for _, ttl in plan.guards]
        released = self.scripts["after_failure"](keys=keys, args=args)
        if released:
            metrics.count(message.actor_name, "released_after_failure", int(released))

    # Background ticks.

    def _renew_leases(self) -> None:
        with self._held_lock:
            runs = list(self._held.values())
        keys: list[str] = []
        args: list[Any] = [max((run.plan.lease_ms for run in runs), default=self.lease_ms) * 20]
        for run in runs:
            for guard, _ in run.plan.guards:
                keys.append(guard)
                args += [run.token, run.plan.lease_ms, run.message_id]
        if keys:
            lost = self.scripts["renew_leases"](keys=keys, args=args)
            if lost:
                logger.warning("%d running leases were lost before renewal", lost)

    def _flush_due_windows(self) -> None:
        flushed = self.scripts["flush_due"](
            keys=[self.keys.debounce_due],
            args=[100, self.keys.debounce_items_prefix, self.idempotency_ttl],
        )
        for index in range(0, len(flushed), 5):
            window, _, _, last_at, flushed_at = flushed[index : index + 5]
            actor_name = window.decode().split(":")[-2]
            metrics.count(actor_name, "batch_flushed")
            metrics.observe_flush_delay(actor_name, (int(flushed_at) - int(last_at)) / 1000)
