"""Distinct keys run per second when duplicates arrive while their key is still running.

2 worker processes x 8 threads run a small job (`bench.duplicate_actors`: 2 ms of sleep, then
record its key) with no options ("bare") and with `idempotency_key="key"` ("idempotent"), each
on its own queue. The same queue order is used for both: BENCH_DUPLICATE_JOBS jobs (20,000),
30% of them a second copy of a key placed 1-20 positions after the first, so most copies are
fetched while their original is still in flight. Messages are staged and made visible at once
(RENAME), as in `bench.middleware_throughput`.

The clock runs from the RENAME until every distinct key has run (bare: every job has run) and
the variant's queue is drained: its `.msgs` hash, and its delay queue `<queue>.DQ` with its
`.msgs`, are empty (a duplicate parked in the delay queue is still work to do).
distinct/s = distinct keys / that time, for both variants; the ratio is idempotent / bare.
For the idempotent variant, runs beyond one per key are counted (exactly-once: 0).
"""

from __future__ import annotations

import os
import random
import time
import uuid
from dataclasses import dataclass
from typing import Any

import dramatiq
import redis
from dramatiq.message import Message

from bench.support import WorkerGroup, report, stage_messages
from zapq.keyspace import delay_queue_key, messages_key, queue_key

JOBS = int(os.environ.get("BENCH_DUPLICATE_JOBS", "20000"))
DUPLICATE_SHARE = 0.3
MAX_GAP = 20  # a duplicate sits 1..MAX_GAP positions after its original
TIMEOUT_S = float(os.environ.get("BENCH_DUPLICATE_TIMEOUT_S", "180"))
POLL_S = 0.01


@dataclass
class Outcome:
    elapsed: float
    distinct_ran: int
    runs: int
    extra_runs: int
    left: dict[str, int]  # what was still queued when the clock stopped
    delay_queue_peak: int  # most messages seen parked in the delay queue at once
    timed_out: bool


def main() -> None:
    order = queue_order(JOBS, round(JOBS * DUPLICATE_SHARE), MAX_GAP, random.Random(20240611))
    distinct = len(set(order))
    with WorkerGroup("bench.duplicate_actors", processes=2, threads=8):
        from bench import duplicate_actors

        broker = dramatiq.get_broker()
        client: redis.Redis = broker.client  # type: ignore[attr-defined]
        outcomes = {name: measure(broker, client, name, order) for name in duplicate_actors.VARIANTS}
    bare, idempotent = outcomes["bare"], outcomes["idempotent"]
    bare_rate = distinct / bare.elapsed if not bare.timed_out else bare.distinct_ran / bare.elapsed
    idem_rate = idempotent.distinct_ran / idempotent.elapsed
    copies = len(order) - distinct
    report("duplicates_jobs", f"{len(order)} ({copies} copies 1-{MAX_GAP} positions behind, {distinct} keys)")
    report("bare_duplicates_distinct_per_s", round(bare_rate))
    report("middleware_duplicates_distinct_per_s", round(idem_rate))
    report("middleware_duplicates_ratio", round(idem_rate / bare_rate, 3))
    report("middleware_duplicates_extra_runs", idempotent.extra_runs)
    report("middleware_duplicates_delay_queue_peak", idempotent.delay_queue_peak)
    for name, outcome in outcomes.items():
        if outcome.timed_out:
            report(
                f"duplicates_{name}_timed_out",
                f"after {TIMEOUT_S:.0f} s: {outcome.distinct_ran}/{distinct} distinct keys ran, "
                f"{outcome.runs} runs, still queued {outcome.left}",
            )


def queue_order(total: int, duplicates: int, max_gap: int, rng: random.Random) -> list[str]:
    """Keys in queue order; `duplicates` of them repeat a key placed 1..max_gap positions earlier.

    Originals are picked for a copy by sampling without replacement, so the count is exact
    unless every slot behind an original is taken (then that copy moves to a later original).
    """
    originals = total - duplicates
    run = uuid.uuid4().hex[:8]
    reserved: dict[int, str] = {}  # position -> the key whose copy goes there
    order: list[str] = []
    made = 0
    copies_left = duplicates
    position = 0
    while made < originals:
        if position in reserved:
            order.append(reserved.pop(position))
        else:
            key = f"{run}-{made}"
            order.append(key)
            made += 1
            if copies_left and rng.random() < copies_left / (originals - made + 1):
                free = [position + gap for gap in range(1, max_gap + 1) if position + gap not in reserved]
                if free:
                    reserved[rng.choice(free)] = key
                    copies_left -= 1
        position += 1
    order.extend(reserved[spot] for spot in sorted(reserved))  # the tail: gaps only get shorter
    return order


def measure(broker: Any, client: redis.Redis, variant: str, order: list[str]) -> Outcome:
    from bench.duplicate_actors import queue_name, runs_key, total_key

    queue = queue_name(variant)
    namespace = broker.namespace
    client.delete(runs_key(variant), total_key(variant))
    messages: list[Message[Any]] = [
        Message(queue_name=queue, actor_name=queue, args=(), kwargs={"key": key}, options={}) for key in order
    ]
    staging = stage_messages(client, namespace, queue, messages)

    distinct = len(set(order))
    runs_needed = len(order) if variant == "bare" else distinct
    delay_queue_peak = 0
    started = time.perf_counter()
    client.rename(staging, queue_key(namespace, queue))
    while True:
        # One MULTI/EXEC: a delayed message moves from the delay queue to the queue between two
        # separate reads, and would be missed by both.
        check = client.pipeline(transaction=True)
        check.hlen(runs_key(variant))
        check.get(total_key(variant))
        check.llen(queue_key(namespace, queue))
        check.hlen(messages_key(queue_key(namespace, queue)))
        check.llen(delay_queue_key(namespace, queue))
        check.hlen(messages_key(delay_queue_key(namespace, queue)))
        distinct_ran, raw_runs, *queued = check.execute()
        elapsed = time.perf_counter() - started
        runs = int(raw_runs or 0)
        delay_queue_peak = max(delay_queue_peak, queued[3])
        done = distinct_ran >= distinct and runs >= runs_needed and not any(queued)
        timed_out = not done and elapsed > TIMEOUT_S
        if done or timed_out:
            break
        time.sleep(POLL_S)
    counts = [int(value) for value in client.hvals(runs_key(variant))]
    left = dict(zip(("queue", "queue.msgs", "DQ", "DQ.msgs"), queued, strict=True))
    return Outcome(
        elapsed=elapsed,
        distinct_ran=int(distinct_ran),
        runs=runs,
        extra_runs=sum(count - 1 for count in counts),
        left=left,
        delay_queue_peak=delay_queue_peak,
        timed_out=timed_out,
    )
