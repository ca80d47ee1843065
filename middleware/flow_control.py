"""Idempotency, debounce with accumulation, content dedup and per-key throttle: the hooks.

Every decision is one Lua call (`lua/before_process.lua`, `lua/after_success.lua`,
`lua/after_failure.lua`), group-committed between worker threads (`middleware.batching`);
no decision is a read followed by a write. A delivery (Dramatiq's redis_message_id)
owns the leases and throttle slot it takes, so a redelivery after a crash or a script
call re-sent after its reply was lost recognises them instead of being refused.
With `FlowControlRedisBroker` the scripts also ack, park or requeue the message in the
same atomic step, and debounced messages are merged into their window when sent.
Planning lives in `middleware.planning`, leases in `middleware.leases`, debounce
encoding in `middleware.debounce`; the manual is `middleware/README.md`.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any, cast

import redis
from dramatiq import Actor, Broker
from dramatiq.broker import MessageProxy
from dramatiq.errors import ActorNotFound
from dramatiq.message import Message
from dramatiq.middleware import Middleware, MiddlewareError, SkipMessage

from middleware import dramatiq_protocol, metrics
from middleware.background import Ticker
from middleware.debounce import CHECKED_OPTION, merge_arguments, stamp_sent, unpack_batch
from middleware.decision import Decision, decode_decision
from middleware.dramatiq_protocol import ack_call, heartbeat_key, queue_key
from middleware.errors import DuplicateMessage, FlowControlUnavailable
from middleware.keyspace import DEFAULT_NAMESPACE, Keyspace
from middleware.leases import HeldRun, Leases
from middleware.options import ACTOR_OPTIONS, read_option, validate_options
from middleware.planning import BATCH_OPTION, Defaults, Plan, dedup_guard, plan_message
from middleware.redis_broker import ACK_HANDLER, FlowControlRedisBroker, acked, same_server
from middleware.redis_health import RedisHealth
from middleware.scripts import load_scripts

logger = logging.getLogger(__name__)

DEFAULT_IDEMPOTENCY_TTL = 24 * 3600 * 1000
DEFAULT_LEASE_MS = 30_000
DEFAULT_DEBOUNCE_WINDOW = 2_000
DEFAULT_DEBOUNCE_MAX_WAIT = 10_000
DEFAULT_DEBOUNCE_MAX_ITEMS = 100
DEFAULT_FLUSH_INTERVAL_S = 0.05
DEFAULT_UNAVAILABLE_WAIT_S = 30.0
MAX_DELAY_MS = 7 * 24 * 3600 * 1000 - 1
FENCE_OPTION = "zapq_fence"
TICK_BATCH = 100
NO_ACK = ["", "", ""]

DECIDED_SKIP = "_zapq_decided_skip"


class _DecidedSkipFilter(logging.Filter):
    """Drop Dramatiq's "Message ... was skipped." warning for skips this middleware decided and counted.

    Every duplicate is a skip; a warning for each would bury real ones.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        return not (isinstance(args, tuple) and args and getattr(args[0], DECIDED_SKIP, None))


# One instance, so that every FlowControl adding it leaves a single filter on the logger.
_DECIDED_SKIP_FILTER = _DecidedSkipFilter()


class FlowControl(Middleware):
    """Flow control for Dramatiq actors, backed by Redis.

    Parameters:
      client: The Redis client holding the middleware's state. Every script is safe to
        re-send, so a client that retries on connection errors is fine.
      namespace: Prefix of every key (see `middleware.keyspace`).
      idempotency_ttl: How long, in ms, a finished key is remembered.
      lease_ms: How long a run's lease lasts without renewal; a killed worker's
        lease expires after this, and a duplicate may run.
      debounce_window, debounce_max_wait, debounce_max_items: Debounce defaults.
      flush_interval_s: How often each worker process flushes due windows, wakes the
        duplicates of crashed runs and hands freed throttle slots on.
      unavailable_wait_s: How long a worker thread waits for an unreachable Redis before
        putting its message back on the queue (never acking it undecided).

    Raises:
      InvalidFlowOption: when an actor is declared, or a message sent, with an option
        value the middleware cannot use.
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
        unavailable_wait_s: float = DEFAULT_UNAVAILABLE_WAIT_S,
    ) -> None:
        validate_options(
            "FlowControl",
            {
                "idempotency_ttl": idempotency_ttl,
                "lease_ms": lease_ms,
                "debounce_window": debounce_window,
                "debounce_max_wait": debounce_max_wait,
                "debounce_max_items": debounce_max_items,
            },
        )
        self.client = client
        self.keys = Keyspace(namespace)
        self.defaults = Defaults(
            lease_ms, idempotency_ttl, debounce_window, debounce_max_wait, debounce_max_items
        )
        self.flush_interval_s = flush_interval_s
        self.unavailable_wait_s = unavailable_wait_s
        self.scripts = load_scripts(client)
        self.script_group = self.scripts.group
        self.leases = Leases(lease_ms)
        self.health = RedisHealth(logger, "flow-control Redis")
        self._threads: list[Ticker] = []
        self._takes_acks_of: dict[int, bool] = {}
        self._shutting_down = threading.Event()
        self._local = threading.local()
        logging.getLogger("dramatiq.worker.WorkerThread").addFilter(_DECIDED_SKIP_FILTER)

    @property
    def actor_options(self) -> set[str]:
        return set(ACTOR_OPTIONS)

    @property
    def lease_ms(self) -> int:
        return self.defaults.lease_ms

    def before_declare_actor(self, broker: Broker, actor: Actor[Any, Any]) -> None:
        validate_options(actor.actor_name, actor.options)

    # Enqueue: drop a content duplicate before it reaches the queue; merge a debounced message.

    def before_enqueue(self, broker: Broker, message: Message[Any], delay: int | None) -> None:
        options = message.options
        if CHECKED_OPTION in options or BATCH_OPTION in options or "scheduled_at" in options:
            return
        actor = broker.get_actor(message.actor_name)
        overridden = {name: options[name] for name in options if name in ACTOR_OPTIONS}
        if overridden:
            validate_options(f"{actor.actor_name}: message {message.message_id}", overridden)
        stamp_sent(message)
        if not read_option(message, actor, "dedup", None):
            return
        guard = dedup_guard(actor, message, self.keys)
        raw_record = self.client.get(guard)
        record = raw_record.decode() if isinstance(raw_record, bytes) else raw_record
        if record is not None and not record.startswith("R|"):
            metrics.count(actor.actor_name, "dedup_dropped")
            raise DuplicateMessage(actor.actor_name, guard, record)

    def merges_on_send(self, broker: Broker, message: Message[Any]) -> bool:
        """Whether a message is a raw debounced one, merged into its window when sent."""
        if BATCH_OPTION in message.options or "eta" in message.options or "scheduled_at" in message.options:
            return False
        if "debounce_key" in message.options:
            return True
        try:
            return "debounce" in broker.get_actor(message.actor_name).options
        except ActorNotFound:
            return False

    def merge_request(self, broker: Broker, message: Message[Any]) -> tuple[list[Any], list[Any]] | None:
        """The merge call for a raw debounced message at send (`before_process.lua` keys, args), else None."""
        if not self.merges_on_send(broker, message):
            return None
        actor = broker.get_actor(message.actor_name)
        plan = plan_message(actor, message, self.defaults, self.keys)
        if plan is None or plan.mode != "merge":
            return None
        return self._decision_call(
            broker, actor, message, plan, _attempt(message), takes_acks=False, ack=None
        )

    def absorb_on_send(self, broker: Broker, message: Message[Any]) -> bool:
        """Merge a raw debounced message into its window instead of queueing it; False: queue it."""
        request = self.merge_request(broker, message)
        if request is None:
            return False
        decision = decode_decision(self.scripts["before_process"](keys=request[0], args=request[1]))
        self._count_send_decision(message.actor_name, decision)
        return decision.outcome in ("merged", "duplicate")

    def count_send_decision(self, actor_name: str, reply: Any) -> bool:
        """Count a merge decided by another caller (the web's enqueuer); whether it absorbed the message."""
        decision = decode_decision(reply)
        self._count_send_decision(actor_name, decision)
        return decision.outcome in ("merged", "duplicate")

    def _count_send_decision(self, actor_name: str, decision: Decision) -> None:
        if decision.outcome == "merged":
            metrics.count(actor_name, "debounce_merged")
            if decision.flushed:
                metrics.count(actor_name, "batch_flushed")
        elif decision.outcome == "duplicate":
            metrics.count(actor_name, "duplicate_skipped")

    # Consume: one script decides.

    def before_process_message(self, broker: Broker, message: MessageProxy) -> None:
        try:
            self._before_process(broker, message)
        except MiddlewareError:
            raise
        except BaseException as error:
            # Anything else (a bug, an asynchronous time limit) must not let the message run
            # unguarded: Dramatiq re-raises only MiddlewareErrors from before-hooks.
            logger.error("flow control could not decide message %s: %r", message.message_id, error)
            raise FlowControlUnavailable(f"{message.message_id}: {error!r}") from error

    def _before_process(self, broker: Broker, message: MessageProxy) -> None:
        actor = broker.get_actor(message.actor_name)
        plain = message._message  # planning reads many attributes: skip the proxy's __getattr__
        plan = plan_message(actor, plain, self.defaults, self.keys)
        if plan is None:
            return
        takes_acks = self._takes_acks(broker)
        owner = _attempt(plain)
        ack = ack_call(cast(FlowControlRedisBroker, broker), message) if takes_acks else None
        keys, args = self._decision_call(broker, actor, plain, plan, owner, takes_acks=takes_acks, ack=ack)
        try:
            reply = self._call_patiently("before_process", keys, args)
        except FlowControlUnavailable:
            if takes_acks:  # back on its queue once Redis answers: never acked undecided
                setattr(message, ACK_HANDLER, self._requeue)
            raise
        decision = decode_decision(reply)
        if decision.outcome == "run":
            self._start_run(actor, message, plan, owner, decision)
            return
        self._refuse(broker, actor, message, plan, decision, takes_acks)

    def _decision_call(
        self, broker: Broker, actor: Actor[Any, Any], message: Message[Any], plan: Plan, owner: str, *,
        takes_acks: bool, ack: tuple[list[str], list[Any]] | None,
    ) -> tuple[list[Any], list[Any]]:  # fmt: skip
        namespace = str(getattr(broker, "namespace", dramatiq_protocol.DEFAULT_NAMESPACE))
        merge = plan.mode == "merge"
        keys: list[Any] = [
            *plan.guard_keys, plan.throttle_key, plan.extra_key, self.keys.waits,
            self.keys.debounce_due if merge else "", self.keys.throttle_due,
        ]  # fmt: skip
        args: list[Any] = [
            owner, message.message_id, plan.lease_ms, plan.gc_ms, len(plan.guards), plan.throttle_limit,
            plan.throttle_period, plan.mode, "1" if takes_acks else "0", plan.throttle_mode,
            queue_key(namespace, message.queue_name) if takes_acks else "", self.keys.fence,
            *(guard.done_ttl_ms for guard in plan.guards),
        ]  # fmt: skip
        if merge:
            args += merge_arguments(actor, message, plan, self.defaults, self.keys, namespace)
        elif plan.mode == "batch":
            args.append(plan.idempotency_ttl)
        ack_keys, ack_args = ack if ack is not None else (NO_ACK, NO_ACK)
        return keys + ack_keys, args + ack_args

    def _call_patiently(self, name: str, keys: list[Any], args: list[Any]) -> Any:
        """Run a decision script, waiting out an unreachable Redis with capped backoff.

        Every script is safe to re-send for one delivery, so a call whose reply was lost is
        simply made again. Gives up (FlowControlUnavailable) after `unavailable_wait_s`, or
        at once when the worker is shutting down.
        """
        deadline = time.monotonic() + self.unavailable_wait_s
        backoff = 0.05
        while True:
            try:
                reply = self.scripts[name](keys=keys, args=args)
            except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError) as error:
                self.health.failed(error)
                if time.monotonic() >= deadline or self._shutting_down.is_set():
                    raise FlowControlUnavailable(str(error)) from error
                time.sleep(backoff + random.uniform(0, backoff))
                backoff = min(backoff * 2, 2.0)
                continue
            except redis.RedisError as error:
                raise FlowControlUnavailable(f"flow-control script {name} failed: {error}") from error
            self.health.succeeded()
            return reply

    def _start_run(
        self, actor: Actor[Any, Any], message: MessageProxy, plan: Plan, owner: str, decision: Decision
    ) -> None:
        if decision.expired_leases:
            metrics.count(actor.actor_name, "lease_expired", decision.expired_leases)
        if plan.mode == "batch":
            items, options = unpack_batch(decision.items)
            message._message = message._message.copy(args=(items,), options=options)
        message._message.options[FENCE_OPTION] = decision.fence
        self.leases.hold(message, HeldRun(owner, message.message_id, decision.fence, plan))
        self._local.running = message.message_id
        self._local.retry_enqueued = False

    def _refuse(
        self, broker: Broker, actor: Actor[Any, Any], message: MessageProxy, plan: Plan, decision: Decision,
        takes_acks: bool,
    ) -> None:  # fmt: skip
        name = actor.actor_name
        outcome = decision.outcome
        acked_here = takes_acks and (
            decision.acked_by_script or (outcome == "throttled" and plan.throttle_mode == "drop")
        )
        if outcome == "duplicate":
            kind = plan.guards[decision.guard_index].kind
            metrics.count(name, "dedup_dropped" if kind in ("dedup", "tick") else "duplicate_skipped")
        elif outcome == "merged":
            metrics.count(name, "debounce_merged")
            if decision.flushed:
                metrics.count(name, "batch_flushed")
        elif outcome == "wait":
            metrics.count(name, "duplicate_waited")
            if not decision.parked:  # no broker to park in: come back soon
                self._redeliver_later(broker, message, min(decision.wait_ms, 1000) + random.randint(50, 150))
        elif outcome == "throttled":
            if plan.throttle_mode == "delay":
                metrics.count(name, "throttled_delayed")
                if not decision.parked:
                    self._redeliver_later(broker, message, decision.wait_ms + random.randint(1, 250))
            else:
                metrics.count(name, "throttled_dropped")
        elif outcome == "missing":
            # Its items expired or were never there: an error with the batch's id, dead-lettered
            # where an operator sees it; never a run with no items counted as a success.
            metrics.count(name, "batch_items_missing")
            logger.error("debounce batch %s of %s has no items; dead-lettering it", message.message_id, name)
            message.fail()
            raise SkipMessage(f"missing items: {message.message_id}")
        setattr(message, DECIDED_SKIP, outcome)
        if takes_acks:
            setattr(message, ACK_HANDLER, acked if acked_here else self._ack)
        raise SkipMessage(f"{outcome}: {message.message_id}")

    def _redeliver_later(self, broker: Broker, message: MessageProxy, delay_ms: int) -> None:
        # Only without FlowControlRedisBroker: enqueued before this one is acked, so a crash in
        # between leaves two copies, and the guards let only one of them run.
        broker.enqueue(message._message.copy(), delay=min(delay_ms, MAX_DELAY_MS))

    # After a run.

    def after_enqueue(self, broker: Broker, message: Message[Any], delay: int | None) -> None:
        # Retries enqueues a failed message's retry before our after-hook runs: note that it
        # got there, so a retry that Redis refused is made good by requeueing the original.
        if delay is not None and getattr(self._local, "running", None) == message.message_id:
            self._local.retry_enqueued = True

    def after_process_message(
        self, broker: Broker, message: MessageProxy, *, result: Any | None = None,
        exception: BaseException | None = None,
    ) -> None:  # fmt: skip
        found = self.leases.held(message)
        retry_enqueued = bool(getattr(self._local, "retry_enqueued", False))
        self._local.running = None
        self._local.retry_enqueued = False
        if found is None:
            return
        key, held = found
        takes_acks = self._takes_acks(broker)
        # The run stays held (its lease renewed) until its record is written, which with
        # FlowControlRedisBroker happens in the consumer's ack and may wait for Redis.
        if exception is None:
            handler = partial(self._record_success, key, held)
        else:
            final = bool(message.failed)
            handler = partial(
                self._give_back, key, held, final, "ack" if final or retry_enqueued else "requeue"
            )
        if takes_acks:
            setattr(message, ACK_HANDLER, handler)
        else:
            handler(NO_ACK, NO_ACK)

    def after_skip_message(self, broker: Broker, message: MessageProxy) -> None:
        found = self.leases.held(message)
        if found is not None:  # a later middleware skipped a message we had let through
            self._give_back(found[0], found[1], False, "", NO_ACK, NO_ACK)

    def _record_success(self, key: int, held: HeldRun, ack_keys: list[str], ack_args: list[Any]) -> None:
        plan = held.plan
        keys = [*plan.guard_keys, plan.throttle_key, plan.extra_key if plan.mode == "batch" else "",
                self.keys.waits, *_ack_keys(ack_keys)]  # fmt: skip
        args = [held.owner, held.fence, f"D|{held.message_id}", len(plan.guards),
                *(guard.done_ttl_ms for guard in plan.guards), held.delivery,
                "ack" if ack_keys and ack_keys[0] else "", *_ack_args(ack_args)]  # fmt: skip
        with self._releasing(key):
            lost, skipped = self.scripts["after_success"](keys=keys, args=args)
        for guard, count in zip(plan.guards, skipped, strict=False):
            if int(count):
                outcome = "dedup_dropped" if guard.kind in ("dedup", "tick") else "duplicate_skipped"
                metrics.count(plan.actor_name, outcome, int(count))
        if int(lost):
            metrics.count(plan.actor_name, "lease_lost", int(lost))
            logger.warning(
                "message %s of %s finished after another run took its lease (fence %d): success not recorded",
                held.message_id, plan.actor_name, held.fence,
            )  # fmt: skip

    def _give_back(
        self, key: int, held: HeldRun, final: bool, finish: str, ack_keys: list[str], ack_args: list[Any]
    ) -> None:
        plan = held.plan
        items_key = plan.extra_key if plan.mode == "batch" else ""
        keys = [*plan.guard_keys, plan.throttle_key, items_key, self.keys.waits, self.keys.throttle_due,
                *_ack_keys(ack_keys)]  # fmt: skip
        args = [held.owner, int(plan.keep_on_failure), int(final), f"F|{held.message_id}", len(plan.guards),
                *(guard.done_ttl_ms for guard in plan.guards), held.delivery,
                finish if ack_keys and ack_keys[0] else "", *_ack_args(ack_args)]  # fmt: skip
        with self._releasing(key):
            released = self.scripts["after_failure"](keys=keys, args=args)
        if released:
            metrics.count(plan.actor_name, "released_after_failure", int(released))

    @contextmanager
    def _releasing(self, key: int) -> Iterator[None]:
        """Release a held run once its record is written; keep it held while Redis is unreachable."""
        try:
            yield
        except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError):
            raise  # the ack is retried, and the lease must hold until then
        except BaseException:
            self.leases.release(key)
            raise
        self.leases.release(key)

    def _ack(self, ack_keys: list[str], ack_args: list[Any]) -> None:
        if ack_keys and ack_keys[0]:
            self.scripts["after_success"](
                keys=["", "", "", *ack_keys], args=["", "", "", 0, "", "ack", *ack_args]
            )

    def _requeue(self, ack_keys: list[str], ack_args: list[Any]) -> None:
        """The ack of a message that could not be decided: back on its queue, never dropped."""
        if ack_keys and ack_keys[0]:
            self.scripts["after_failure"](
                keys=["", "", "", "", *ack_keys], args=["", 0, 0, "", 0, "", "requeue", *ack_args]
            )

    def _takes_acks(self, broker: Broker) -> bool:
        """Whether the broker's consumers hand FlowControl its messages' acks (same Redis only)."""
        takes = self._takes_acks_of.get(id(broker))
        if takes is None:
            takes = isinstance(broker, FlowControlRedisBroker) and same_server(broker.client, self.client)
            self._takes_acks_of[id(broker)] = takes
        return takes

    # Worker lifecycle: lease renewal and the tick.

    def after_worker_boot(self, broker: Broker, worker: Any) -> None:
        self._shutting_down.clear()
        if self._takes_acks(broker):
            redis_broker = cast(FlowControlRedisBroker, broker)
            self.leases.heartbeat_key = heartbeat_key(redis_broker.namespace)
            self.leases.worker_id = redis_broker.broker_id
        self._broker: Broker | None = broker
        renewal = Ticker("zapq-lease-renewal", self.leases.renewal_interval_s, self._renew_leases)
        self.leases.wake_renewal = renewal.wake
        self._threads = [renewal, Ticker("zapq-flow-tick", lambda: self.flush_interval_s, self._tick)]
        for thread in self._threads:
            thread.start()

    def before_worker_shutdown(self, broker: Broker, worker: Any) -> None:
        self._shutting_down.set()  # threads waiting for Redis give up; renewal goes on

    def after_worker_shutdown(self, broker: Broker, worker: Any) -> None:
        for thread in self._threads:
            thread.stop()

    def _renew_leases(self) -> None:
        lost = self.leases.renew(self.scripts["renew_leases"])
        if lost:
            logger.warning("%d running leases were lost before renewal", lost)

    def _tick(self) -> None:
        flushed, woken, dropped, unparked = self.scripts["flush_due"](
            keys=[self.keys.debounce_due, self.keys.waits, self.keys.throttle_due],
            args=[TICK_BATCH, self.keys.debounce_items_prefix],
        )
        broker = getattr(self, "_broker", None)
        known = broker.actors if broker is not None else {}
        for index in range(0, len(flushed), 4):
            raw_name, _, last_at, flushed_at = flushed[index : index + 4]
            name = raw_name.decode() if isinstance(raw_name, bytes) else str(raw_name)
            label = name if name in known else "other"  # labels come from declared actors only
            metrics.count(label, "batch_flushed")
            metrics.observe_flush_delay(label, (int(flushed_at) - int(last_at)) / 1000)
        if int(woken):
            metrics.count("other", "waiters_woken", int(woken))
        if int(dropped):
            metrics.count("other", "duplicate_skipped", int(dropped))
        if int(unparked):
            metrics.count("other", "throttle_unparked", int(unparked))


def _attempt(message: Message[Any]) -> str:
    """This attempt's lease owner: the delivery (redis_message_id) and a fresh random part."""
    delivery = str(message.options.get("redis_message_id", message.message_id))
    return f"{delivery}:{uuid.uuid4().hex[:12]}"


def _ack_keys(ack_keys: list[str]) -> list[str]:
    return list(ack_keys) if ack_keys else list(NO_ACK)


def _ack_args(ack_args: list[Any]) -> list[Any]:
    return list(ack_args) if ack_args else list(NO_ACK)


def find_flow_control(broker: Broker) -> FlowControl | None:
    for middleware in broker.middleware:
        if isinstance(middleware, FlowControl):
            return middleware
    return None
