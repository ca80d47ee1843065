"""Failure paths with real `dramatiq` worker processes: SIGKILL, SIGTERM deploys, short leases,
a saturated pool and a Redis crash (on a redis-server of the test's own, `restartable_redis`).

Every actor is in tests/support/failure_actors.py (or flow_actors.py for the stress tests) and
writes its runs to PostgreSQL, so a test counts runs, completions and overlaps per key across
processes. Test settings: FLOW_LEASE_MS=3000, REDIS_HEARTBEAT_TIMEOUT_S=2 (a dead worker's
unacked messages are requeued about 2 s after its last heartbeat).
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import dramatiq
import psycopg
import pytest
import redis

from tests.support import flow_actors
from tests.support.failure_actors import (
    LEDGER_DDL,
    customer_burst,
    fail_once,
    gated,
    gated_long_lease,
    idempotent_hold,
    occupy,
    one_second_lease_hold,
    release,
    short_lease_hold,
    throttled_burst,
    throttled_hold,
)

MODULE = "tests.support.failure_actors"
#: One thread that fetches one message at a time: the worker holding a run fetches nothing else,
#: so a duplicate sent while it runs goes to the other worker process.
ONE_AT_A_TIME = {"dramatiq_queue_prefetch": "1"}


@dataclass(frozen=True)
class Run:
    key: str
    attempt: int
    pid: int
    fence: int | None
    started_at: float
    finished_at: float | None


def runs_of(db: psycopg.Connection, actor_name: str) -> list[Run]:
    rows = db.execute(
        "SELECT key, attempt, pid, fence, started_at, finished_at FROM failure_runs"
        " WHERE actor = %s ORDER BY started_at",
        (actor_name,),
    ).fetchall()
    return [Run(*row) for row in rows]


def overlaps(runs: list[Run]) -> list[tuple[Run, Run]]:
    """Pairs of runs of the same key that were running at the same time."""
    found = []
    for index, first in enumerate(runs):
        for second in runs[index + 1 :]:
            first_end = first.finished_at if first.finished_at is not None else float("inf")
            if first.key == second.key and second.started_at < first_end:
                found.append((first, second))
    return found


@pytest.fixture
def ledger(db: psycopg.Connection) -> psycopg.Connection:
    db.execute(LEDGER_DDL)
    return db


@pytest.fixture
def queue_is_empty(redis_client: redis.Redis, settings: Any) -> Callable[[], bool]:
    """Whether no message is queued, parked or unacked on the default queue (every one was decided)."""
    queue = f"{settings.redis_namespace}:default"

    def empty() -> bool:
        return redis_client.llen(queue) == 0 and redis_client.hlen(f"{queue}.msgs") == 0

    return empty


# 1. A SIGKILLed run's throttle slot.


def test_a_sigkilled_throttled_run_is_redelivered_and_runs_once_and_its_slot_then_holds_for_the_period(
    worker_process, ledger, wait_until, queue_is_empty
) -> None:
    first = worker_process(MODULE, threads=2)
    throttled_hold.send("t1", 60.0)  # one run per hour for t1; the first attempt hangs
    wait_until(lambda: runs_of(ledger, "throttled_hold"), timeout=10, what="the first attempt to start")
    killed = set(first.child_pids())
    first.kill()
    worker_process(MODULE, threads=2)
    wait_until(
        lambda: any(run.finished_at for run in runs_of(ledger, "throttled_hold")),
        timeout=20, what="the redelivery to complete",
    )  # fmt: skip
    throttled_hold.send("t1", 0.0)  # another message within the hour: the completed run holds the slot
    wait_until(queue_is_empty, timeout=10, what="the second message to be decided")
    time.sleep(0.5)

    runs = runs_of(ledger, "throttled_hold")
    assert [(run.attempt, run.pid in killed, run.finished_at is not None) for run in runs] == [
        (1, True, False),  # killed mid-run
        (2, False, True),  # its redelivery, run exactly once; the later message was throttled
    ]


def test_a_sigkilled_run_keeps_its_throttle_slot_no_longer_than_its_lease(
    worker_process, ledger, wait_until, queue_is_empty
) -> None:
    first = worker_process(MODULE, threads=2)
    throttled_hold.send("t2", 60.0)
    wait_until(lambda: runs_of(ledger, "throttled_hold"), timeout=10, what="the first attempt to start")
    killed_at = time.monotonic()
    first.kill()
    time.sleep(0.5)
    throttled_hold.send("t2", 0.0)  # queued before the killed run is found dead and its message requeued
    time.sleep(max(0.0, killed_at + 3.5 - time.monotonic()))  # the killed run's lease (3 s) is over
    # One thread, one message at a time: the waiting message is decided before the redelivery.
    worker_process(MODULE, threads=1, env=ONE_AT_A_TIME)
    wait_until(queue_is_empty, timeout=15, what="both messages to be decided")
    time.sleep(0.5)

    runs = runs_of(ledger, "throttled_hold")
    # The next message took the slot the crashed run no longer held; the crashed one's
    # redelivery then found the key's one slot taken, and was throttled.
    assert [(run.attempt, run.finished_at is not None) for run in runs] == [(1, False), (2, True)]


def test_a_sigkilled_debounced_and_throttled_batch_is_redelivered_and_runs_once(
    worker_process, ledger, wait_until
) -> None:
    first = worker_process(MODULE, threads=2)
    for number in range(3):
        throttled_burst.send({"user": "u1", "mid": f"m{number}", "hold_s": 60.0})
    wait_until(lambda: runs_of(ledger, "throttled_burst"), timeout=10, what="the batch to start")
    killed = set(first.child_pids())
    first.kill()
    worker_process(MODULE, threads=2)
    wait_until(
        lambda: ledger.execute("SELECT count(*) FROM failure_batches").fetchone()[0] > 0,
        timeout=20, what="the redelivered batch to complete",
    )  # fmt: skip
    time.sleep(1.0)  # a second run of the batch would show up here

    runs = runs_of(ledger, "throttled_burst")
    assert [(run.attempt, run.pid in killed, run.finished_at is not None) for run in runs] == [
        (1, True, False),
        (2, False, True),
    ]
    assert [row[0] for row in ledger.execute("SELECT mids FROM failure_batches")] == [["m0", "m1", "m2"]]


# 3. A graceful shutdown (deploy) keeps renewing the leases of the runs it lets finish.


def test_a_sigterm_deploy_keeps_the_running_actor_s_lease_renewed_until_it_finishes(
    worker_process, ledger, wait_until, queue_is_empty
) -> None:
    old = worker_process(MODULE, threads=1, shutdown_timeout_ms=20_000, env=ONE_AT_A_TIME)
    idempotent_hold.send("deploy-1", 8.0)  # outlives the 3 s lease more than twice
    wait_until(lambda: runs_of(ledger, "idempotent_hold"), timeout=10, what="the run to start")
    old_pids = set(old.child_pids())
    exit_codes: list[int] = []
    stopping = threading.Thread(target=lambda: exit_codes.append(old.terminate(timeout=30)))
    terminated_at = time.monotonic()
    stopping.start()
    worker_process(MODULE, threads=2)  # the new release comes up while the old one drains
    # Past the lease, which only renewal during the shutdown keeps alive: the new release
    # receives a duplicate of the key still running in the old one.
    time.sleep(max(0.0, terminated_at + 4.0 - time.monotonic()))
    idempotent_hold.send("deploy-1", 8.0)
    stopping.join(timeout=40)
    wait_until(queue_is_empty, timeout=10, what="the duplicate to be decided")
    time.sleep(0.5)

    runs = runs_of(ledger, "idempotent_hold")
    assert overlaps(runs) == []
    assert [(run.pid in old_pids, run.finished_at is not None) for run in runs] == [(True, True)]
    assert exit_codes == [0]


# 4. An actor's own lease shorter than the middleware's is renewed in time.


def test_an_actor_lease_shorter_than_the_default_is_renewed_in_time_and_a_duplicate_never_overlaps(
    worker_process, ledger, wait_until, queue_is_empty
) -> None:
    holder = worker_process(MODULE, threads=1, env=ONE_AT_A_TIME)
    short_lease_hold.send("short-1", 4.0)  # lease_ms=500: eight leases long
    wait_until(lambda: runs_of(ledger, "short_lease_hold"), timeout=10, what="the run to start")
    started = time.monotonic()
    worker_process(MODULE, threads=2)
    time.sleep(max(0.0, started + 1.5 - time.monotonic()))
    short_lease_hold.send("short-1", 4.0)  # from the second worker's point of view, while it runs
    wait_until(
        lambda: all(run.finished_at for run in runs_of(ledger, "short_lease_hold")) and queue_is_empty(),
        timeout=20, what="the run to finish and the duplicate to be decided",
    )  # fmt: skip
    time.sleep(0.5)

    runs = runs_of(ledger, "short_lease_hold")
    assert overlaps(runs) == []
    assert [(run.pid, run.finished_at is not None) for run in runs] == [(holder.child_pids()[0], True)]


def test_a_short_lease_is_renewed_in_time_from_the_first_renewal_on_with_the_production_default(
    worker_process, ledger, wait_until, queue_is_empty
) -> None:
    # FLOW_LEASE_MS=30000 is the production default: the idle renewal ticker waits 10 s.
    holder = worker_process(MODULE, threads=1, env={**ONE_AT_A_TIME, "FLOW_LEASE_MS": "30000"})
    one_second_lease_hold.send("short-2", 4.0)  # lease_ms=1000
    wait_until(lambda: runs_of(ledger, "one_second_lease_hold"), timeout=10, what="the run to start")
    worker_process(MODULE, threads=2)
    one_second_lease_hold.send("short-2", 4.0)
    wait_until(
        lambda: all(run.finished_at for run in runs_of(ledger, "one_second_lease_hold")) and queue_is_empty(),
        timeout=20, what="every run to finish and the duplicate to be decided",
    )  # fmt: skip

    runs = runs_of(ledger, "one_second_lease_hold")
    assert overlaps(runs) == []
    assert [run.pid for run in runs] == [holder.child_pids()[0]]


# 13. A saturated pool: windows close on the senders' clock and each burst is one batch.


def test_a_saturated_worker_pool_still_makes_each_customer_burst_one_batch_in_send_order(
    worker_process, ledger, wait_until
) -> None:
    worker_process(MODULE, threads=2)
    customers = [f"c{number}" for number in range(10)]
    hold_s = 3.0
    start = time.time()
    # Both threads are taken, and more unrelated work is queued between the customers'
    # messages: a merge that waited for a free thread would see each burst split in two.
    occupy.send("busy-1", hold_s)
    occupy.send("busy-2", hold_s)
    for customer in customers:
        customer_burst.send({"user": customer, "mid": f"{customer}-0"})
    occupy.send("busy-3", hold_s)
    occupy.send("busy-4", hold_s)
    for number in (1, 2):
        time.sleep(0.2)
        for customer in customers:
            customer_burst.send({"user": customer, "mid": f"{customer}-{number}"})
    last_sent = time.time()
    assert last_sent - start < 0.8
    wait_until(
        lambda: ledger.execute("SELECT count(DISTINCT user_id) FROM failure_batches").fetchone()[0]
        == len(customers),
        timeout=20, what="every customer's batch",
    )  # fmt: skip
    time.sleep(0.5)

    batches = ledger.execute(
        "SELECT user_id, mids, flushed_at FROM failure_batches ORDER BY user_id"
    ).fetchall()
    assert sorted((user, mids) for user, mids, _ in batches) == sorted(
        (customer, [f"{customer}-{number}" for number in range(3)]) for customer in customers
    )
    # Every window was flushed by the worker's tick while both its threads were still busy,
    # one window (1 s) after the last message, not when a thread came free.
    first_free = min(run.finished_at for run in runs_of(ledger, "occupy") if run.finished_at)
    assert all(flushed_at < first_free for *_, flushed_at in batches)
    assert max(flushed_at for *_, flushed_at in batches) - last_sent < 1.0 + 0.6


# Crash stress with deploys: SIGTERM (rolling out a release) and SIGKILL while messages flow.

STRESS_EFFECT_KEYS = 400
STRESS_USERS = 30
STRESS_BURSTS_PER_USER = 3
STRESS_SEND_S = 10.0
SLOW_KEYS_PER_DEPLOY = 3
SLOW_HOLD_S = 4.5


def test_every_key_completes_once_and_every_message_lands_in_one_batch_across_sigterm_deploys_and_sigkills(
    worker_process, ledger, wait_until
) -> None:
    ledger.execute(flow_actors.LEDGER_DDL)
    seed = int(os.environ.get("ZAPQ_STRESS_SEED", time.time()))
    rng = random.Random(seed)
    workers = [worker_process(MODULE, threads=4, shutdown_timeout_ms=15_000) for _ in range(2)]
    killed: set[int] = set()
    terminated: set[int] = set()
    exit_codes: list[int] = []
    slow_keys: list[str] = []
    chaos_errors: list[BaseException] = []

    def deploy(round_number: int) -> None:
        """SIGTERM every worker while slow runs outlive the lease; the new release starts meanwhile."""
        keys = [f"slow-{round_number}-{n}" for n in range(SLOW_KEYS_PER_DEPLOY)]
        slow_keys.extend(keys)
        for key in keys:
            idempotent_hold.send(key, SLOW_HOLD_S)
        wait_until(
            lambda: {run.key for run in runs_of(ledger, "idempotent_hold")} >= set(keys),
            timeout=10, what="the slow runs to start",
        )  # fmt: skip
        stopping = []
        for index, old in enumerate(list(workers)):
            terminated.update(old.child_pids())
            thread = threading.Thread(target=lambda old=old: exit_codes.append(old.terminate(timeout=30)))
            thread.start()
            stopping.append(thread)
            workers[index] = worker_process(MODULE, threads=4, shutdown_timeout_ms=15_000)
        time.sleep(3.5)  # past the lease: duplicates of the slow keys reach the new release
        for key in keys:
            idempotent_hold.send(key, SLOW_HOLD_S)
        for thread in stopping:
            thread.join(timeout=40)

    def kill_one() -> None:
        victim = rng.randrange(len(workers))
        killed.update(workers[victim].child_pids())
        workers[victim].kill()
        workers[victim] = worker_process(MODULE, threads=4, shutdown_timeout_ms=15_000)

    def chaos() -> None:
        try:
            time.sleep(rng.uniform(0.5, 1.5))
            deploy(1)
            kill_one()
            time.sleep(rng.uniform(0.0, 1.0))
            deploy(2)
        except BaseException as error:  # reported by the test thread
            chaos_errors.append(error)

    effect_keys = [f"k{number}" for number in range(STRESS_EFFECT_KEYS)]
    effect_messages = effect_keys + rng.choices(effect_keys, k=int(len(effect_keys) * rng.uniform(0.2, 0.5)))
    rng.shuffle(effect_messages)
    bursts = []
    for user in range(STRESS_USERS):
        for burst in range(STRESS_BURSTS_PER_USER):
            mids = [f"u{user}-b{burst}-m{n}" for n in range(rng.randint(1, 10))]
            mids += rng.choices(mids, k=int(len(mids) * rng.uniform(0.2, 0.5)))
            bursts.append((f"u{user}", mids))
    rng.shuffle(bursts)
    distinct_mids = {mid for _, mids in bursts for mid in mids}

    chaos_thread = threading.Thread(target=chaos)
    chaos_thread.start()
    pause = STRESS_SEND_S / len(effect_messages)
    for index, key in enumerate(effect_messages):
        flow_actors.effect.send(key)
        if index < len(bursts):
            user, mids = bursts[index]
            for mid in mids:
                flow_actors.batch.send({"user": user, "mid": mid, "sent": time.time()})
        time.sleep(pause)
    chaos_thread.join(timeout=60)
    assert chaos_errors == []

    def settled() -> bool:
        keys = ledger.execute("SELECT count(*) FROM flow_ledger").fetchone()[0]
        items = ledger.execute("SELECT count(*) FROM flow_batch_items").fetchone()[0]
        return keys == len(effect_keys) and items == len(distinct_mids)

    wait_until(settled, timeout=40, interval=0.5, what=f"every key and message to land (seed {seed})")
    time.sleep(1.0)

    # A second completion only ever came from a run whose worker was SIGKILLed after its commit;
    # a SIGTERMed worker finishes what it runs and records it.
    # The pid that matters is the first completer's (flow_ledger): it must have been SIGKILLed
    # between its commit and its success record; the re-run itself happens in a live worker.
    recompleted = ledger.execute(
        "SELECT r.key, l.pid FROM flow_recompletions r JOIN flow_ledger l USING (key)"
    ).fetchall()
    assert [(key, pid) for key, pid in recompleted if pid not in killed] == [], f"seed {seed}"
    assert {row[0] for row in ledger.execute("SELECT mid FROM flow_batch_items")} == distinct_mids
    assert ledger.execute("SELECT max(size) FROM flow_batches").fetchone()[0] <= flow_actors.MAX_ITEMS
    # Every slow key ran once, in the release it started in, though a duplicate came during the drain.
    slow_runs = runs_of(ledger, "idempotent_hold")
    assert sorted(run.key for run in slow_runs) == sorted(slow_keys), f"seed {seed}"
    assert all(run.pid in terminated and run.finished_at for run in slow_runs), f"seed {seed}"
    assert exit_codes == [0] * len(exit_codes) and len(exit_codes) == 4


# A Redis crash: workers and senders on the test's own redis-server, SIGKILLed and restarted.


@dataclass
class OwnRedis:
    server: Any  # tests.support.restartable_redis.RestartableRedis
    broker: Any  # FlowControlRedisBroker on it, for sending
    env: dict[str, str]

    def declare(self, actor: Any) -> Any:
        """The same actor, declared on this Redis's broker (so it merges and sends like the app's)."""
        return dramatiq.Actor(
            actor.fn, broker=self.broker, actor_name=actor.actor_name, queue_name=actor.queue_name,
            priority=actor.priority, options=dict(actor.options),
        )  # fmt: skip


@pytest.fixture
def own_redis(
    settings, restartable_redis, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., OwnRedis]]:  # type: ignore[no-untyped-def]
    """Workers' environment and a sending broker for the test's own Redis (the session's PostgreSQL stays)."""
    from actors.broker import build_broker
    from zapq.settings import get_settings

    brokers = []

    def connect(**environment: str) -> OwnRedis:
        env = {"REDIS_URL": restartable_redis.url, "DATABASE_URL": os.environ["DATABASE_URL"], **environment}
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        brokers.append(build_broker(get_settings()))
        return OwnRedis(restartable_redis, brokers[-1], env)

    yield connect
    for broker in brokers:
        broker.close()
    get_settings.cache_clear()


def unacked(client: redis.Redis, namespace: str) -> int:
    """Messages fetched by a worker and not yet acked, on every worker."""
    return sum(int(client.scard(key)) for key in client.scan_iter(f"{namespace}:__acks__.*"))


def send_patiently(actor: Any, *args: Any, timeout: float = 20.0) -> None:
    """Send, retrying while Redis is down, as a web handler's enqueuer does (keyed actors: retry-safe)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            actor.send(*args)
            return
        except (redis.ConnectionError, redis.TimeoutError, dramatiq.errors.BrokerConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


REDIS_EFFECT_KEYS = 300
REDIS_USERS = 20
REDIS_SEND_S = 6.0
CRASH_BACKLOG = 40


def test_after_a_redis_sigkill_and_restart_every_key_completes_once_and_every_message_lands_in_one_batch(
    worker_process, own_redis, ledger, wait_until, settings
) -> None:
    ledger.execute(flow_actors.LEDGER_DDL)
    seed = int(os.environ.get("ZAPQ_STRESS_SEED", time.time()))
    rng = random.Random(seed)
    # A heartbeat timeout longer than the outage, as in production (60 s): no worker looks dead
    # when Redis comes back (test_a_run_in_progress_across_a_redis_outage_longer_than_the_heartbeat_
    # timeout_runs_once covers a longer outage).
    own = own_redis(REDIS_HEARTBEAT_TIMEOUT_S="10")
    effect, batch, fail_once_here = (
        own.declare(actor) for actor in (flow_actors.effect, flow_actors.batch, fail_once)
    )
    for _ in range(2):
        worker_process(MODULE, threads=4, env=own.env)
    effect_keys = [f"k{number}" for number in range(REDIS_EFFECT_KEYS)]
    rng.shuffle(effect_keys)
    bursts = []
    for user in range(REDIS_USERS):
        for burst in range(2):
            mids = [f"u{user}-b{burst}-m{n}" for n in range(rng.randint(1, 8))]
            mids += rng.choices(mids, k=int(len(mids) * rng.uniform(0.2, 0.5)))
            bursts.append((f"u{user}", mids))
    rng.shuffle(bursts)
    distinct_mids = {mid for _, mids in bursts for mid in mids}

    busy_keys = [f"busy-{number}" for number in range(8)]

    def crash_with_a_backlog(backlog: list[str]) -> None:
        """Redis SIGKILLed while every thread runs a keyed effect that fails during the outage
        (its retry cannot be enqueued then) and messages are fetched behind them: those are
        decided only once Redis is back, and the failed runs retried, none lost."""
        for key in busy_keys:
            fail_once_here.send(key, 0.8)
        wait_until(lambda: len(runs_of(ledger, "fail_once")) == 8, timeout=5, what="every thread busy")
        for key in backlog:
            effect.send(key)
        own.server.kill()
        time.sleep(1.5)
        own.server.restart()

    # Each key is sent once while Redis crashes; duplicates come once everything is acked.
    crash_at = int(len(effect_keys) * rng.uniform(0.3, 0.6))
    pause = REDIS_SEND_S / len(effect_keys)
    for index, key in enumerate(effect_keys):
        if index == crash_at:
            crash_with_a_backlog(effect_keys[index : index + CRASH_BACKLOG])
        if not crash_at <= index < crash_at + CRASH_BACKLOG:
            send_patiently(effect, key)
        if index < len(bursts):
            user, mids = bursts[index]
            for mid in mids:
                send_patiently(batch, {"user": user, "mid": mid, "sent": time.time()})
        time.sleep(pause)

    def settled() -> bool:
        keys = ledger.execute("SELECT count(*) FROM flow_ledger").fetchone()[0]
        items = ledger.execute("SELECT count(*) FROM flow_batch_items").fetchone()[0]
        return keys == len(effect_keys) and items == len(distinct_mids)

    wait_until(settled, timeout=40, interval=0.5, what=f"every key and message to land (seed {seed})")
    wait_until(
        lambda: sorted(run.key for run in runs_of(ledger, "fail_once") if run.finished_at) == busy_keys,
        timeout=15, what="every failed run to be retried and complete",
    )  # fmt: skip
    # Runs that finished while Redis was down are acked (and their success recorded) only when
    # Dramatiq next tries their ack, 5 s later (their leases are renewed until then).
    client = redis.Redis.from_url(own.server.url)
    wait_until(
        lambda: not unacked(client, settings.redis_namespace), timeout=15, what="every message to be acked"
    )
    client.close()
    # What Redis acknowledged before the crash survived it: every key and message sent again is
    # recognised as done, not run again.
    for key in rng.sample(effect_keys, 100):
        effect.send(key)
    for user, mids in rng.sample(bursts, 10):
        for mid in mids:
            batch.send({"user": user, "mid": mid, "sent": time.time()})
    time.sleep(3.0)

    assert ledger.execute("SELECT count(*) FROM flow_ledger").fetchone()[0] == len(effect_keys)
    assert ledger.execute("SELECT key, pid FROM flow_recompletions").fetchall() == [], f"seed {seed}"
    assert {row[0] for row in ledger.execute("SELECT mid FROM flow_batch_items")} == distinct_mids
    assert ledger.execute("SELECT max(size) FROM flow_batches").fetchone()[0] <= flow_actors.MAX_ITEMS
    assert sorted(run.key for run in runs_of(ledger, "fail_once") if run.finished_at) == busy_keys


def test_a_run_that_finishes_while_redis_is_down_keeps_its_key_until_its_success_is_recorded(
    worker_process, own_redis, ledger, wait_until, db
) -> None:
    own = own_redis(REDIS_HEARTBEAT_TIMEOUT_S="10")  # no worker may look dead: only the lease matters
    gated_here = own.declare(gated)
    # Two threads, one message fetched at a time: the duplicate goes to the other worker, and
    # wherever it is fetched again, a thread is free to run it.
    worker_process(MODULE, threads=2, env={**own.env, **ONE_AT_A_TIME})
    gated_here.send("outage-1")
    wait_until(lambda: runs_of(ledger, "gated"), timeout=10, what="the run to start")
    worker_process(MODULE, threads=2, env=own.env)
    gated_here.send("outage-1")  # parked on the other worker while the first runs
    time.sleep(0.5)
    own.server.kill()
    release(db, "outage-1")
    wait_until(lambda: runs_of(ledger, "gated")[0].finished_at, timeout=5, what="the run to finish")
    time.sleep(0.3)  # its ack (which records the success) has failed: Dramatiq tries again in 5 s
    own.server.restart()
    time.sleep(7.0)  # past the lease (3 s) and Dramatiq's next try of the ack

    runs = runs_of(ledger, "gated")
    assert [run.key for run in runs] == ["outage-1"]


def test_a_run_in_progress_across_a_redis_outage_longer_than_the_heartbeat_timeout_runs_once(
    worker_process, own_redis, ledger, wait_until, db
) -> None:
    own = own_redis()
    gated_here = own.declare(gated_long_lease)
    occupy_here = own.declare(occupy)
    worker_process(MODULE, threads=1, env={**own.env, **ONE_AT_A_TIME})
    gated_here.send("outage-2")
    wait_until(lambda: runs_of(ledger, "gated_long_lease"), timeout=10, what="the run to start")
    worker_process(MODULE, threads=2, env=own.env)
    own.server.kill()
    time.sleep(3.0)  # longer than REDIS_HEARTBEAT_TIMEOUT_S (2 s), shorter than the 10 s lease
    own.server.restart()
    occupy_here.send("after-outage", 0.0)  # any enqueue runs Dramatiq's maintenance
    time.sleep(3.0)  # the other worker's consumer is back after its 3 s restart delay
    release(db, "outage-2")
    wait_until(
        lambda: all(run.finished_at for run in runs_of(ledger, "gated_long_lease")),
        timeout=15, what="every run to finish",
    )  # fmt: skip
    time.sleep(0.5)

    runs = runs_of(ledger, "gated_long_lease")
    assert overlaps(runs) == []
    assert len(runs) == 1
