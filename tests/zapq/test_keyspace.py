"""`zapq/keyspace.py` is the one page of zapq's Redis keyspace.

docs/keyspace.md shows the same table, as docs/configuration.md shows the settings; every
key the module builds, and every key a working zapq leaves in Redis, belongs to one of its families.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import dramatiq
import redis
from dramatiq.common import dq_name

import middleware.keyspace
import zapq.keyspace as keyspace
from zapq.keyspace import (
    acks_key,
    dead_letter_key,
    delay_queue_key,
    flow_keys,
    heartbeat_key,
    messages_key,
    minute_counts_key,
    pace_number_key,
    pace_recipient_key,
    queue_key,
    worker_heartbeats_key,
)
from zapq.whatsapp.pacing import Pacer

DOCS = Path(__file__).resolve().parents[2] / "docs" / "keyspace.md"

ROW = re.compile(r"^\| `([^`]+)` \| (.*?) \| (.*?) \| (.*?) \|$", re.MULTILINE)

# What a placeholder stands for in a real key; any other placeholder is one key part (no `:`).
PLACEHOLDERS = {
    "ns": r"[^:]+:zapq",
    "REDIS_NAMESPACE": r"[^:]+",
    "queue": r"[A-Za-z_][A-Za-z0-9_-]*",
    "worker_id": r"[0-9a-f-]{36}",
    "guard": r"[^:]+:zapq:guard:[^:]+:[a-z]+:[^:]+",
}

# Families whose keys only the Lua scripts derive, from a key Python builds.
DERIVED_IN_LUA = {
    "{guard}:waiters",
    "{ns}:throttle:{actor}:{key}:running",
    "{ns}:throttle:{actor}:{key}:attempts",
    "{ns}:throttle:{actor}:{key}:parked",
}


def families(text: str) -> dict[str, tuple[str, ...]]:
    """The table's rows: key pattern -> (type, TTL, owner)."""
    rows = ROW.findall(text)
    table = {pattern: tuple(rest) for pattern, *rest in rows}
    assert len(table) == len(rows), "a key pattern is listed twice"
    return table


FAMILIES = families(keyspace.__doc__ or "")


def pattern_regex(pattern: str) -> re.Pattern[str]:
    regex = ""
    for text, name in re.findall(r"([^{]*)(?:\{(\w+)\})?", pattern):
        regex += re.escape(text)
        if name:
            regex += PLACEHOLDERS.get(name, r"[^:]+")
    return re.compile(regex)


def family_of(key: str) -> str | None:
    """The documented family of a key; the most literal pattern when several match."""
    matches = [pattern for pattern in FAMILIES if pattern_regex(pattern).fullmatch(key)]
    return max(matches, key=lambda pattern: len(re.sub(r"\{\w+\}", "", pattern)), default=None)


def test_the_docs_table_is_the_keyspace_modules_table() -> None:
    documented = families(DOCS.read_text())

    assert set(documented) - set(FAMILIES) == set(), "in docs/keyspace.md, missing from zapq/keyspace.py"
    assert set(FAMILIES) - set(documented) == set(), "in zapq/keyspace.py, missing from docs/keyspace.md"
    assert documented == FAMILIES  # each with the same type, TTL and owner


def test_flow_controls_own_page_lists_the_same_flow_control_keys() -> None:
    own = re.findall(r"^(\{\S+)\s+(?:string|list|zset|hash|set)\s", middleware.keyspace.__doc__ or "", re.M)

    assert set(own) == {pattern for pattern, row in FAMILIES.items() if row[2].startswith("FlowControl")}


def test_every_key_zapq_builds_belongs_to_its_documented_family_and_every_family_is_built() -> None:
    flow = flow_keys("tenant")
    hostile = "a:b*{c}"  # hashed, so it cannot add a part to the key
    some_id = str(uuid.uuid4())
    queue, delayed = queue_key("tenant", "default"), delay_queue_key("tenant", "default")
    dead, delay_queue = dead_letter_key("tenant", "default"), dq_name("default")

    built = {
        flow.guard("charge", "idem", "o-1"): "{ns}:guard:{actor}:idem:{key}",
        flow.guard("charge", "idem", hostile): "{ns}:guard:{actor}:idem:{key}",
        flow.guard("embed", "dedup", "9f86d081"): "{ns}:guard:{actor}:dedup:{sha256}",
        flow.guard("tick", "tick", 1_764_547_200_000): "{ns}:guard:{actor}:tick:{minute_ms}",
        flow.guard("reply", "msg", some_id): "{ns}:guard:{actor}:msg:{message_id}",
        flow.batch_guard_prefix("reply") + some_id: "{ns}:guard:{actor}:batch:{batch_id}",
        flow.waits: "{ns}:waits",
        flow.fence: "{ns}:fence",
        flow.throttle("send", hostile): "{ns}:throttle:{actor}:{key}",
        flow.throttle_due: "{ns}:throttle:due",
        flow.debounce_window("reply", "5511987654321"): "{ns}:debounce:window:{actor}:{key}",
        flow.debounce_items(some_id): "{ns}:debounce:items:{batch_id}",
        flow.debounce_due: "{ns}:debounce:due",
        pace_number_key("tenant", "106540352242922"): "{ns}:pace:number:{phone_number_id}",
        pace_recipient_key("tenant", "1065", hostile): "{ns}:pace:recipient:{phone_number_id}:{recipient}",
        worker_heartbeats_key("tenant"): "{ns}:workers",
        queue: "{REDIS_NAMESPACE}:{queue}",
        messages_key(queue): "{REDIS_NAMESPACE}:{queue}.msgs",
        delayed: "{REDIS_NAMESPACE}:{queue}.DQ",
        messages_key(delayed): "{REDIS_NAMESPACE}:{queue}.DQ.msgs",
        dead: "{REDIS_NAMESPACE}:{queue}.XQ",
        messages_key(dead): "{REDIS_NAMESPACE}:{queue}.XQ.msgs",
        acks_key("tenant", some_id, "default"): "{REDIS_NAMESPACE}:__acks__.{worker_id}.{queue}",
        acks_key("tenant", some_id, delay_queue): "{REDIS_NAMESPACE}:__acks__.{worker_id}.{queue}.DQ",
        heartbeat_key("tenant"): "{REDIS_NAMESPACE}:__heartbeats__",
        minute_counts_key("tenant", 1_764_547_200_000): "{ns}:counts:{minute_ms}",
    }  # fmt: skip

    assert {key: family_of(key) for key in built} == built
    assert set(built.values()) | DERIVED_IN_LUA == set(FAMILIES)


def test_every_key_a_working_zapq_leaves_in_redis_is_documented(
    broker: Any, worker: dramatiq.Worker, redis_client: redis.Redis, settings: Any,
    wait_until: Callable[..., None],
) -> None:  # fmt: skip
    release = threading.Event()
    names = iter(range(1_000_000))

    def declare(function: Callable[..., None], **options: Any) -> Any:
        name = f"{function.__name__}_keyspace_{next(names)}"
        return dramatiq.actor(function, actor_name=name, broker=broker, queue_name="default", **options)

    def hold(order: str) -> None:
        release.wait(10)

    def hold_slot(user: str) -> None:
        release.wait(10)

    def noop(*args: Any, **kwargs: Any) -> None:
        pass

    def fail() -> None:
        raise ValueError("meant to fail")

    held = declare(hold, idempotency_key="order")
    throttled = declare(
        hold_slot, throttle="user", throttle_limit=1, throttle_mode="delay", throttle_period=60_000
    )
    merged = declare(noop, debounce="user", debounce_window=2000, debounce_max_wait=2000)
    deduped = declare(noop, dedup=60_000)
    ticked = declare(noop)
    dead = declare(fail, max_retries=0)
    retried = declare(fail, max_retries=1, min_backoff=60_000, max_backoff=60_000)

    for _ in range(2):  # the second waits behind the first: a waiter, a parked message
        held.send("o-1")
        throttled.send(user="u-1")
    merged.send({"user": "5511987654321", "text": "oi"})
    deduped.send("same text")
    ticked.send_with_options(scheduled_at=datetime.now().astimezone().isoformat())
    dead.send()
    retried.send()
    Pacer(namespace=settings.redis_namespace).acquire(redis_client, "106540352242922", "5511987654321")

    seen: set[str] = set()

    def seen_lua_derived_families() -> bool:
        seen.update(key.decode() for key in redis_client.scan_iter(count=1000))
        return {family_of(key) for key in seen} >= DERIVED_IN_LUA

    try:
        wait_until(seen_lua_derived_families, timeout=15, what="a waiter, a parked message and a held slot")
    finally:
        release.set()
    wait_until(lambda: redis_client.zcard(dead_letter_key(settings.redis_namespace, "default")))
    seen.update(key.decode() for key in redis_client.scan_iter(count=1000))

    assert sorted(key for key in seen if family_of(key) is None) == []
