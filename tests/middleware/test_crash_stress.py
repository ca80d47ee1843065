"""Randomised stress with real worker processes SIGKILLed at random moments.

Thousands of messages, 20-50% duplicates, bursts per user; two `dramatiq` worker
processes of four threads, killed and restarted several times. The PostgreSQL
ledger then shows the invariants. ZAPQ_LONG_TESTS=1 runs a longer version.
"""

from __future__ import annotations

import os
import random
import time

import psycopg

from tests.support.flow_actors import LEDGER_DDL, MAX_ITEMS, MAX_WAIT_MS, batch, effect

LONG = os.environ.get("ZAPQ_LONG_TESTS") == "1"
EFFECT_KEYS = 3000 if LONG else 700
USERS = 150 if LONG else 50
BURSTS_PER_USER = 6 if LONG else 3
KILLS = 8 if LONG else 3
# Flush happens within the flusher's poll (50 ms) of max_wait; a loaded 2-core machine adds some.
WINDOW_TOLERANCE_S = 0.5


def test_every_key_completes_once_and_every_message_lands_in_one_batch_despite_sigkills(
    worker_process, db: psycopg.Connection, wait_until
) -> None:
    db.execute(LEDGER_DDL)
    rng = random.Random(int(os.environ.get("ZAPQ_STRESS_SEED", time.time())))
    workers = [worker_process("tests.support.flow_actors", threads=4) for _ in range(2)]
    killed_pids: set[int] = set()

    def kill_and_restart_one() -> None:
        victim = rng.randrange(len(workers))
        killed_pids.update(workers[victim].child_pids())
        workers[victim].kill()
        workers[victim] = worker_process("tests.support.flow_actors", threads=4)

    effect_messages = [f"k{number}" for number in range(EFFECT_KEYS)]
    effect_messages += rng.choices(effect_messages, k=int(EFFECT_KEYS * rng.uniform(0.2, 0.5)))
    rng.shuffle(effect_messages)
    bursts = []
    for user in range(USERS):
        for burst in range(BURSTS_PER_USER):
            mids = [f"u{user}-b{burst}-m{n}" for n in range(rng.randint(1, 12))]
            mids += rng.choices(mids, k=int(len(mids) * rng.uniform(0.2, 0.5)))
            bursts.append((f"u{user}", mids))
    rng.shuffle(bursts)
    distinct_mids = {mid for _, mids in bursts for mid in mids}

    kill_at = sorted(rng.uniform(0.1, 0.9) for _ in range(KILLS))
    total = len(effect_messages) + len(bursts)
    sent = 0
    for index, key in enumerate(effect_messages):
        effect.send(key)
        sent += 1
        if index < len(bursts):
            user, mids = bursts[index]
            for mid in mids:
                batch.send({"user": user, "mid": mid, "sent": time.time()})
            sent += 1
        if kill_at and sent / total >= kill_at[0]:
            kill_at.pop(0)
            kill_and_restart_one()
        time.sleep(0.002)
    for user, mids in bursts[len(effect_messages) :]:
        for mid in mids:
            batch.send({"user": user, "mid": mid, "sent": time.time()})

    def settled() -> bool:
        keys = db.execute("SELECT count(*) FROM flow_ledger").fetchone()[0]
        items = db.execute("SELECT count(*) FROM flow_batch_items").fetchone()[0]
        return keys == EFFECT_KEYS and items == len(distinct_mids)

    wait_until(settled, timeout=240 if LONG else 75, interval=0.5, what="every key and message to land")

    # Every distinct key completed exactly once (the primary key makes a second row impossible) and a
    # second completion only ever came from a run whose worker was SIGKILLed after its commit.
    recompleted_by = db.execute(
        "SELECT r.key, l.pid FROM flow_recompletions r JOIN flow_ledger l USING (key)"
    ).fetchall()
    assert all(pid in killed_pids for _, pid in recompleted_by), recompleted_by
    # Every debounced message is in exactly one completed batch.
    assert {row[0] for row in db.execute("SELECT mid FROM flow_batch_items")} == distinct_mids
    # No batch exceeded max_items, and no window outlived max_wait beyond its tolerance.
    assert db.execute("SELECT max(size) FROM flow_batches").fetchone()[0] <= MAX_ITEMS
    overdue = db.execute(
        "SELECT batch_id, flushed_at - opened_at FROM flow_batches WHERE flushed_at - opened_at > %s",
        (MAX_WAIT_MS / 1000 + WINDOW_TOLERANCE_S,),
    ).fetchall()
    assert overdue == []
    for process in workers:
        assert "Traceback" not in process.output or "UniqueViolation" in process.output
