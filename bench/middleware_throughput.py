"""Worker throughput with each flow-control feature, as a ratio to bare Dramatiq, plus flush latency.

2 worker processes x 8 threads run a no-op actor. For each variant, N messages are
written to the variant's queue and made visible at once (RENAME of a staged list),
so the figure is consumption rate, not enqueue rate. Round trips per message come
from Redis's own command statistics (EVALSHA/EVAL calls beyond bare Dramatiq's).
"""

from __future__ import annotations

import os
import statistics
import time
import uuid
from typing import Any

import dramatiq
import redis
from dramatiq.message import Message

from bench.support import WorkerGroup, report, stage_messages
from zapq.keyspace import messages_key, queue_key

MESSAGES = int(os.environ.get("BENCH_MESSAGES", "6000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
LATENCY_BURSTS = int(os.environ.get("BENCH_LATENCY_BURSTS", "120"))


def main() -> None:
    with WorkerGroup("bench.noop_actors", processes=2, threads=8) as group:
        from bench import noop_actors

        broker = dramatiq.get_broker()
        client: redis.Redis = broker.client  # type: ignore[attr-defined]
        rates: dict[str, list[float]] = {name: [] for name in noop_actors.VARIANTS}
        script_calls: dict[str, list[float]] = {name: [] for name in noop_actors.VARIANTS}
        for _ in range(ROUNDS):
            for name in noop_actors.VARIANTS:
                rate, calls = measure_variant(broker, client, name)
                rates[name].append(rate)
                script_calls[name].append(calls)
        bare = statistics.median(rates["bare"])
        report("middleware_bare_msgs_per_s", round(bare))
        report("middleware_prefetch", f"dramatiq default ({2 * 8} per process)")
        for name in noop_actors.VARIANTS:
            if name != "bare":
                report(f"middleware_{name}_ratio", round(statistics.median(rates[name]) / bare, 3))
        # Bare Dramatiq's own calls (its fetches, and one ack per message) are the baseline; a
        # negative figure means FlowControl's shared calls replaced more acks than they added.
        report("redis_script_calls_per_message_bare", round(statistics.median(script_calls["bare"]), 2))
        extra = statistics.median(script_calls["all"]) - statistics.median(script_calls["bare"])
        report("redis_roundtrips_per_message", round(extra, 2))
        for name in ("idempotency", "dedup", "throttle", "debounce"):
            extra = statistics.median(script_calls[name]) - statistics.median(script_calls["bare"])
            report(f"redis_roundtrips_per_message_{name}", round(extra, 2))
        measure_flush_latency(client, group)


def measure_variant(broker: Any, client: redis.Redis, name: str) -> tuple[float, float]:
    queue = f"bench_{name}"
    namespace = broker.namespace
    run = uuid.uuid4().hex[:8]

    def message(number: int) -> Message[Any]:
        payload = {"key": f"{run}-{number}", "user": f"{run}-u{number // 5}", "n": number}
        args: tuple[Any, ...] = (payload,) if name in ("debounce", "all") else ()
        kwargs = {} if args else payload
        return Message(queue_name=queue, actor_name=f"bench_{name}", args=args, kwargs=kwargs, options={})

    staging = stage_messages(client, namespace, queue, (message(number) for number in range(MESSAGES)))
    before = script_call_count(client)
    started = time.perf_counter()
    client.rename(staging, queue_key(namespace, queue))
    while client.hlen(messages_key(queue_key(namespace, queue))) > 0:
        time.sleep(0.005)
    elapsed = time.perf_counter() - started
    calls = (script_call_count(client) - before) / MESSAGES
    return MESSAGES / elapsed, calls


def script_call_count(client: redis.Redis) -> int:
    stats = client.info("commandstats")
    return sum(int(stats.get(f"cmdstat_{command}", {}).get("calls", 0)) for command in ("evalsha", "eval"))


def measure_flush_latency(client: redis.Redis, group: WorkerGroup) -> None:
    from bench.noop_actors import bench_latency

    client.delete("bench:flush-lateness")
    for burst in range(LATENCY_BURSTS):
        user = f"lat-{uuid.uuid4().hex[:6]}-{burst}"
        for _ in range(3):
            bench_latency.send_with_options(args=({"user": user, "sent": time.time()},))
            time.sleep(0.01)
        time.sleep(0.05)
    deadline = time.monotonic() + 30
    while client.llen("bench:flush-lateness") < LATENCY_BURSTS and time.monotonic() < deadline:
        time.sleep(0.1)
    lateness = sorted(float(value) for value in client.lrange("bench:flush-lateness", 0, -1))
    if not lateness:
        report("debounce_flush_p99_s", "no batches ran")
        return
    report("debounce_flush_p50_s", round(lateness[len(lateness) // 2], 3))
    report("debounce_flush_p99_s", round(lateness[min(len(lateness) - 1, int(len(lateness) * 0.99))], 3))
    report("debounce_flush_batches", len(lateness))
