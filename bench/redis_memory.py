"""Redis memory left behind per message by a debounced, idempotent actor, once everything has run.

2 worker processes x 8 threads run `bench.memory_actors.bench_process_message`, shaped like
WhatsApp's `process_message` (debounce per user, idempotency per message id kept 8 days, a
200 ms window, 2 s max wait). BENCH_MEMORY_MESSAGES text messages (5,000, ~300 bytes of body
each) are sent with `.send()` in bursts of 1-5 per user. When every item has been seen by a
batch and the queue and its delay queue are empty, and after a short settle, Redis's
`used_memory` and `DBSIZE` are compared with their values taken before sending (workers
started on a FLUSHALLed Redis and idle).

Connection buffers are not per-message state but grow with the connections the workers open
under load, so `redis_bytes_per_message_steady` leaves out the change of `mem_clients_normal`
(and of `mem_aof_buffer`); the raw `used_memory` delta is reported too.
"""

from __future__ import annotations

import os
import random
import re
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import dramatiq
import msgspec
import redis

from bench.support import WorkerGroup, report
from zapq.keyspace import delay_queue_key, messages_key, queue_key

MESSAGES = int(os.environ.get("BENCH_MEMORY_MESSAGES", "5000"))
TIMEOUT_S = float(os.environ.get("BENCH_MEMORY_TIMEOUT_S", "120"))
SETTLE_S = 2.0
BODY_BYTES = 300
SAMPLE_TEXT = (
    "oi bom dia tudo bem queria saber o preço do carro que vi no anúncio ainda está disponível "
    "aceita troca meu carro é um gol 2015 completo com 80 mil km rodados dá pra financiar em "
    "quantas vezes qual a entrada mínima posso passar aí amanhã de manhã para ver pessoalmente "
    "vocês abrem sábado tem garantia o ipva está pago aceita pix consegue um desconto à vista"
)
WORDS = SAMPLE_TEXT.split()
UUID_LIKE = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")
MEMORY_FIELDS = ("used_memory", "mem_clients_normal", "mem_aof_buffer")


def main() -> None:
    rng = random.Random(20240611)
    bursts = whatsapp_bursts(MESSAGES, rng)
    item_bytes = sum(len(msgspec.json.encode(item)) for burst in bursts for item in burst) / MESSAGES
    with WorkerGroup("bench.memory_actors", processes=2, threads=8):
        from bench.memory_actors import QUEUE, SEEN_KEY, bench_process_message

        broker = dramatiq.get_broker()
        client: redis.Redis = broker.client  # type: ignore[attr-defined]
        namespace = broker.namespace  # type: ignore[attr-defined]
        time.sleep(SETTLE_S)  # workers idle: heartbeats written, scripts loaded
        before = snapshot(client)
        started = time.perf_counter()
        for burst in bursts:
            for item in burst:
                # How the webhook enqueues (`web.whatsapp_webhook`): one message each, batched by the actor.
                bench_process_message.send_with_options(args=(item,))
        sent_s = time.perf_counter() - started
        deadline = time.monotonic() + TIMEOUT_S
        seen = wait_for(deadline, lambda: int(client.hget(SEEN_KEY, "items") or 0) >= MESSAGES)
        drained = wait_for(deadline, lambda: not any(queued(client, namespace, QUEUE)))
        time.sleep(SETTLE_S)  # late acks, success records and flushes
        counts = {field: int(client.hget(SEEN_KEY, field) or 0) for field in ("items", "batches")}
        client.delete(SEEN_KEY)  # the benchmark's own bookkeeping is not the actor's footprint
        after = snapshot(client)
        by_kind = keys_by_kind(client)
    if not (seen and drained):
        report(
            "redis_memory_timed_out",
            f"after {TIMEOUT_S:.0f} s: {counts.get('items', 0)}/{MESSAGES} items seen, "
            f"still queued {queued_summary(client, namespace, QUEUE)}",
        )
    raw = after["used_memory"] - before["used_memory"]
    buffers = sum(after[name] - before[name] for name in ("mem_clients_normal", "mem_aof_buffer"))
    report("redis_bytes_per_message_steady", round((raw - buffers) / MESSAGES, 1))
    report("redis_keys_per_message_steady", round((after["dbsize"] - before["dbsize"]) / MESSAGES, 3))
    report("redis_bytes_per_message_raw", round(raw / MESSAGES, 1))
    report("redis_memory_buffers_delta_bytes", buffers)
    report(
        "redis_memory_workload",
        f"{MESSAGES} messages of ~{item_bytes:.0f} B JSON from {len(bursts)} users, "
        f"{counts.get('batches', 0)} batches, sent in {sent_s:.1f} s",
    )
    report("redis_memory_keys", by_kind)


def whatsapp_bursts(total: int, rng: random.Random) -> list[list[dict[str, Any]]]:
    """Text messages like `InboundMessage.to_dict()`'s, 1-5 per user, one new user per burst."""
    bursts: list[list[dict[str, Any]]] = []
    made = 0
    while made < total:
        user = f"55{rng.randint(11, 99)}9{rng.randint(10_000_000, 99_999_999)}"
        burst = []
        for _ in range(min(rng.randint(1, 5), total - made)):
            burst.append(
                {
                    "user": user,
                    "mid": f"wamid.HBgN{user}FQIAEhggM{uuid.UUID(int=rng.getrandbits(128)).hex.upper()}",
                    "type": "text",
                    "timestamp": str(1_718_000_000 + made),
                    "text": message_body(rng),
                }
            )
            made += 1
        bursts.append(burst)
    return bursts


def message_body(rng: random.Random) -> str:
    words: list[str] = []
    while len(" ".join(words).encode()) < BODY_BYTES:
        words.append(rng.choice(WORDS))
    return " ".join(words).encode()[:BODY_BYTES].decode(errors="ignore")


def snapshot(client: redis.Redis) -> dict[str, int]:
    info = client.info("memory")
    values = {name: int(info.get(name, 0)) for name in MEMORY_FIELDS}
    values["dbsize"] = int(client.dbsize())
    return values


def queued(client: redis.Redis, namespace: str, queue: str) -> list[int]:
    check = client.pipeline(transaction=True)  # one MULTI: a delayed message moves between two reads
    check.hlen(messages_key(queue_key(namespace, queue)))
    check.hlen(messages_key(delay_queue_key(namespace, queue)))
    return [int(value) for value in check.execute()]


def queued_summary(client: redis.Redis, namespace: str, queue: str) -> dict[str, int]:
    return dict(zip((".msgs", ".DQ.msgs"), queued(client, namespace, queue), strict=True))


def wait_for(deadline: float, condition: Callable[[], bool]) -> bool:
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def keys_by_kind(client: redis.Redis) -> str:
    """Keys and their `MEMORY USAGE`, grouped by pattern (the last part of a key and ids as `*`)."""
    counts: dict[str, int] = defaultdict(int)
    sizes: dict[str, int] = defaultdict(int)
    keys = [key.decode() for key in client.scan_iter(count=1000)]
    for start in range(0, len(keys), 1000):
        chunk = keys[start : start + 1000]
        pipe = client.pipeline(transaction=False)
        for key in chunk:
            pipe.memory_usage(key, samples=0)
        for key, size in zip(chunk, pipe.execute(), strict=True):
            kind = key_pattern(key)
            counts[kind] += 1
            sizes[kind] += int(size or 0)
    kinds = sorted(counts, key=lambda kind: -sizes[kind])
    return ", ".join(f"{kind} {counts[kind]} keys {sizes[kind]} B" for kind in kinds)


def key_pattern(key: str) -> str:
    parts = key.split(":")
    if len(parts) > 2:
        parts[-1] = "*"
    return UUID_LIKE.sub("*", ":".join(parts))
