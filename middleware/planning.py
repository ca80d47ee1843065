"""What a message asks of Redis, decided in Python without Redis: a pure function of the message.

`plan_message` reads the actor's and the message's options and names the guards to
acquire (each with the TTL it keeps once done), the throttle slot, and the debounce
window or batch. Any error while planning (a key function that raises, an option the
message overrides with a bad value) becomes `UnkeyableMessage`, a MiddlewareError, so a
message is never run unguarded because its key could not be computed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from dramatiq import Actor

from middleware.errors import InvalidFlowOption, UnkeyableMessage
from middleware.keyspace import Keyspace
from middleware.options import (
    ACTOR_OPTIONS,
    AnyMessage,
    content_hash,
    key_from_source,
    read_option,
    scheduled_slot_ms,
    validate_options,
)

BATCH_OPTION = "zapq_batch"
TICK_TTL = 24 * 3600 * 1000
DEFAULT_THROTTLE_LIMIT = 1
DEFAULT_THROTTLE_PERIOD = 24 * 3600 * 1000

Mode = Literal["run", "batch", "merge"]
GuardKind = Literal["idem", "dedup", "tick", "msg", "batch"]


@dataclass(frozen=True)
class Defaults:
    """The middleware-wide defaults an actor or message option overrides."""

    lease_ms: int
    idempotency_ttl: int
    debounce_window: int
    debounce_max_wait: int
    debounce_max_items: int


@dataclass(frozen=True)
class Guard:
    key: str
    kind: GuardKind
    done_ttl_ms: int  # how long the record is kept once the run finished


@dataclass
class Plan:
    """What one message asks of Redis: guards to acquire, a throttle slot, a debounce merge."""

    actor_name: str
    mode: Mode
    lease_ms: int
    idempotency_ttl: int
    guards: list[Guard] = field(default_factory=list)
    throttle_key: str = ""
    throttle_source: str | None = None  # the message's throttle key, before it became a Redis key
    throttle_limit: int = 0
    throttle_period: int = 0
    throttle_mode: str = "drop"
    extra_key: str = ""  # batch: its items list; merge: its window hash
    batch_id: str = ""
    keep_on_failure: bool = False

    @property
    def gc_ms(self) -> int:
        # A lease record outlives its deadline so an expired lease can be recognised (and
        # counted) by the next run, but it cannot outlive a crashed process forever.
        return self.lease_ms * 20

    @property
    def guard_keys(self) -> list[str]:
        return [guard.key for guard in self.guards]


def plan_message(
    actor: Actor[Any, Any], message: AnyMessage, defaults: Defaults, keys: Keyspace
) -> Plan | None:
    """The plan for one message, or None when no flow-control option applies to it."""
    try:
        return _plan(actor, message, defaults, keys)
    except UnkeyableMessage:
        raise
    except Exception as error:
        raise UnkeyableMessage(
            f"{actor.actor_name}: message {message.message_id} cannot be keyed: {error!r}"
        ) from error


def _plan(actor: Actor[Any, Any], message: AnyMessage, defaults: Defaults, keys: Keyspace) -> Plan | None:
    options = message.options
    overridden = {name: options[name] for name in options if name in ACTOR_OPTIONS}
    if overridden:
        try:
            validate_options(f"{actor.actor_name}: message {message.message_id}", overridden)
        except InvalidFlowOption as error:
            raise UnkeyableMessage(str(error)) from error
    name = actor.actor_name
    idempotency_ttl = int(read_option(message, actor, "idempotency_ttl", defaults.idempotency_ttl))
    plan = Plan(
        actor_name=name,
        mode="run",
        lease_ms=int(read_option(message, actor, "lease_ms", defaults.lease_ms)),
        idempotency_ttl=idempotency_ttl,
        keep_on_failure=bool(read_option(message, actor, "keep_key_on_failure", False)),
    )

    if BATCH_OPTION in options:
        plan.mode = "batch"
        plan.batch_id = str(options[BATCH_OPTION])
        plan.guards.append(Guard(keys.guard(name, "batch", plan.batch_id), "batch", idempotency_ttl))
        plan.extra_key = keys.debounce_items(plan.batch_id)
        _add_throttle(plan, actor, message, keys)
        return plan

    debounced = "debounce_key" in options or "debounce" in actor.options
    idempotency_key = _idempotency_key(actor, message)
    if idempotency_key is not None:
        plan.guards.append(Guard(keys.guard(name, "idem", idempotency_key), "idem", idempotency_ttl))
    elif debounced:  # a re-sent or redelivered raw message must not be merged twice
        plan.guards.append(Guard(keys.guard(name, "msg", message.message_id), "msg", idempotency_ttl))
    dedup_window = read_option(message, actor, "dedup", None)
    if dedup_window:
        plan.guards.append(Guard(dedup_guard(actor, message, keys), "dedup", int(dedup_window)))
    if "scheduled_at" in options and not debounced:
        slot = scheduled_slot_ms(str(options["scheduled_at"]))
        plan.guards.append(Guard(keys.guard(name, "tick", slot), "tick", TICK_TTL))
    if debounced:
        plan.mode = "merge"
        source = options.get("debounce_key")
        key = source if source is not None else key_from_source(actor.options["debounce"], actor, message)
        plan.extra_key = keys.debounce_window(name, key)
        # A batch has no arguments of its own to key on: it is throttled on the key of the
        # message that opened its window (the one whose flush message the window keeps).
        plan.throttle_source = throttle_source(actor, message)
        return plan
    _add_throttle(plan, actor, message, keys)
    if not plan.guards and not plan.throttle_key:
        return None
    return plan


def throttle_source(actor: Actor[Any, Any], message: AnyMessage) -> str | None:
    if "throttle_key" in message.options:
        return str(message.options["throttle_key"])
    if "throttle" in actor.options:
        return key_from_source(actor.options["throttle"], actor, message)
    return None


def _add_throttle(plan: Plan, actor: Actor[Any, Any], message: AnyMessage, keys: Keyspace) -> None:
    source = throttle_source(actor, message)
    if source is None:
        return
    plan.throttle_source = source
    plan.throttle_key = keys.throttle(actor.actor_name, source)
    plan.throttle_limit = int(read_option(message, actor, "throttle_limit", DEFAULT_THROTTLE_LIMIT))
    plan.throttle_period = int(read_option(message, actor, "throttle_period", DEFAULT_THROTTLE_PERIOD))
    plan.throttle_mode = str(read_option(message, actor, "throttle_mode", "drop"))


def _idempotency_key(actor: Actor[Any, Any], message: AnyMessage) -> str | None:
    if "idempotency_key" in message.options:
        return str(message.options["idempotency_key"])
    source = actor.options.get("idempotency_key")
    return None if source is None else key_from_source(source, actor, message)


def dedup_guard(actor: Actor[Any, Any], message: AnyMessage, keys: Keyspace) -> str:
    source = read_option(message, actor, "dedup_key", None)
    if source is not None:
        digest = key_from_source(source, actor, message)
    else:
        digest = content_hash(actor.actor_name, message, read_option(message, actor, "dedup_fields", None))
    return keys.guard(actor.actor_name, "dedup", digest)
