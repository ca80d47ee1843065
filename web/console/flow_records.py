"""The "why" of flow control: what Redis holds for one key of one actor, and releasing a stuck one.

The key is always built by the middleware's own `Keyspace` (which hashes anything that is not
plain and short), from an actor the broker declares and a kind from `LookupKind`: what an operator
types is a key's value, never a part of a Redis key's structure.

Guard records (middleware/lua/common.lua): `R|owner|deadline|fence|message_id` running under a
lease, `D|message_id` done, `M|batch_id` merged into a debounce batch, `F|message_id` failed and
kept. Releasing a guard deletes it and, when duplicates are parked behind it, marks it due in the
middleware's waits index, so the workers' tick puts them back on their queues as it does for a
crashed run. Releasing a throttle key frees its slots.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import redis.asyncio

from middleware.keyspace import Keyspace


class LookupKind(StrEnum):
    IDEMPOTENCY = "idempotency"  # an idempotency key's value
    CONTENT_HASH = "content_hash"  # a dedup guard's SHA-256 (or dedup_key's value)
    MERGED_MESSAGE = "merged_message"  # a message id merged into a debounce batch
    BATCH = "batch"  # a debounce batch id
    DEBOUNCE = "debounce"  # a debounce key's value: its open window
    THROTTLE = "throttle"  # a throttle key's value: its slots


_GUARD_KINDS = {
    LookupKind.IDEMPOTENCY: "idem",
    LookupKind.CONTENT_HASH: "dedup",
    LookupKind.MERGED_MESSAGE: "msg",
    LookupKind.BATCH: "batch",
}
RELEASABLE = frozenset({*_GUARD_KINDS, LookupKind.THROTTLE})

# KEYS: guard, waits index. Deletes the guard; parked duplicates are woken by the tick.
_RELEASE_GUARD = """
local value = redis.call('GET', KEYS[1])
if not value then return false end
redis.call('DEL', KEYS[1])
if redis.call('EXISTS', KEYS[1] .. ':waiters') == 1 then redis.call('ZADD', KEYS[2], 0, KEYS[1]) end
return value
"""

# KEYS: throttle slots, running slots, attempts. The parked excess is unparked as slots free.
_RELEASE_THROTTLE = """
local slots = redis.call('ZCARD', KEYS[1])
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
return slots
"""


@dataclass(frozen=True)
class FlowRecord:
    kind: LookupKind
    state: str  # running, done, merged, failed_kept, window_open, throttled, free, absent
    summary: str  # one sentence for the operator
    fields: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "state": self.state, "summary": self.summary, **self.fields}


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def guard_key(keys: Keyspace, actor_name: str, kind: LookupKind, value: str) -> str:
    return keys.guard(actor_name, _GUARD_KINDS[kind], value)


async def look_up(
    client: redis.asyncio.Redis, keys: Keyspace, actor_name: str, kind: LookupKind, value: str, now_ms: int,
    throttle_period_ms: int | None = None,
) -> FlowRecord:  # fmt: skip
    if kind in _GUARD_KINDS:
        return await _guard(client, guard_key(keys, actor_name, kind, value), kind, now_ms)
    if kind is LookupKind.DEBOUNCE:
        return await _window(client, keys.debounce_window(actor_name, value), now_ms)
    return await _throttle(client, keys.throttle(actor_name, value), now_ms, throttle_period_ms)


async def _guard(client: redis.asyncio.Redis, key: str, kind: LookupKind, now_ms: int) -> FlowRecord:
    pipeline = client.pipeline(transaction=False)
    pipeline.get(key)
    pipeline.pttl(key)
    pipeline.llen(key + ":waiters")
    raw, pttl, waiters = await pipeline.execute()
    if raw is None:
        return FlowRecord(kind, "absent", "No record: a message with this key would run now.", {})
    value = _text(raw)
    remembered_until = now_ms + int(pttl) if int(pttl) > 0 else None
    common = {"record": value, "remembered_until_ms": remembered_until, "waiting_duplicates": int(waiters)}
    tag, _, rest = value.partition("|")
    if tag == "R":
        owner, deadline, fence, message_id = [*rest.split("|"), "", "", ""][:4]
        lease_until = int(deadline) if deadline.isdigit() else None
        expired = lease_until is not None and lease_until <= now_ms
        summary = (
            f"Running: message {message_id} holds the lease until {_iso(lease_until)}"
            + (" (expired: its run crashed or stalled; the key frees itself soon)" if expired else "")
            + f"; {int(waiters)} duplicate(s) wait behind it."
        )
        return FlowRecord(kind, "running", summary, {
            **common, "message_id": message_id, "lease_until_ms": lease_until, "lease_expired": expired,
            "fence": int(fence) if fence.isdigit() else None, "owner": owner,
        })  # fmt: skip
    if tag == "D":
        summary = f"Done by message {rest}; duplicates are skipped until {_iso(remembered_until)}."
        return FlowRecord(kind, "done", summary, {**common, "message_id": rest})
    if tag == "M":
        summary = f"Merged into debounce batch {rest}; duplicates are skipped until {_iso(remembered_until)}."
        return FlowRecord(kind, "merged", summary, {**common, "batch_id": rest})
    if tag == "F":
        until = _iso(remembered_until)
        summary = f"Failed for good (message {rest}) and kept: duplicates are skipped until {until}."
        return FlowRecord(kind, "failed_kept", summary, {**common, "message_id": rest})
    return FlowRecord(kind, "unknown", "A record this console does not know.", common)


async def _window(client: redis.asyncio.Redis, key: str, now_ms: int) -> FlowRecord:
    raw: dict[Any, Any] = await client.hgetall(key)
    if not raw:
        return FlowRecord(LookupKind.DEBOUNCE, "absent", "No open window: the next message opens one.", {})
    window = {_text(k): _text(v) for k, v in raw.items()}
    last, quiet, max_at = (int(window.get(name, "0") or 0) for name in ("last", "quiet", "max_at"))
    closes_at = min(last + quiet, max_at) if max_at else last + quiet
    summary = (
        f"Window open for batch {window.get('batch')}: {window.get('count')} message(s),"
        f" closes at {_iso(closes_at)} (quiet {quiet} ms, at the latest {_iso(max_at)})."
    )
    return FlowRecord(LookupKind.DEBOUNCE, "window_open", summary, {
        "batch_id": window.get("batch"), "messages": int(window.get("count", "0") or 0),
        "opened_at_ms": int(window.get("first", "0") or 0), "last_at_ms": last, "closes_at_ms": closes_at,
        "max_at_ms": max_at, "queue": window.get("queue"),
    })  # fmt: skip


async def _throttle(client: redis.asyncio.Redis, key: str, now_ms: int, period_ms: int | None) -> FlowRecord:
    pipeline = client.pipeline(transaction=False)
    pipeline.zrange(key, 0, -1, withscores=True)
    pipeline.zcard(key + ":running")
    pipeline.llen(key + ":parked")
    slots, running, parked = await pipeline.execute()
    if not slots and not int(parked):
        return FlowRecord(LookupKind.THROTTLE, "free", "No slot taken: a message with this key runs now.", {})
    taken = [int(score) for _, score in slots]
    next_free = min(taken) + period_ms if taken and period_ms else None
    summary = (
        f"{len(taken)} slot(s) taken in the period ({int(running)} running), {int(parked)} message(s) parked;"
        f" throttled until {_iso(next_free)}."
    )
    return FlowRecord(LookupKind.THROTTLE, "throttled", summary, {
        "slots_taken": len(taken), "running": int(running), "parked": int(parked),
        "slot_times_ms": taken, "throttled_until_ms": next_free,
    })  # fmt: skip


async def release(
    client: redis.asyncio.Redis, keys: Keyspace, actor_name: str, kind: LookupKind, value: str
) -> str | None:
    """Free the key; what it held (the record, or the number of slots), None when there was nothing."""
    if kind in _GUARD_KINDS:
        held = await client.eval(_RELEASE_GUARD, 2, guard_key(keys, actor_name, kind, value), keys.waits)
        return None if held is None else _text(held)
    throttle = keys.throttle(actor_name, value)
    slots = await client.eval(_RELEASE_THROTTLE, 3, throttle, throttle + ":running", throttle + ":attempts")
    return f"{int(slots)} slot(s)" if int(slots) else None


def _iso(ms: int | None) -> str:
    if ms is None:
        return "?"
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
