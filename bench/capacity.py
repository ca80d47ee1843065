"""What one answered burst and one background task cost Redis and PostgreSQL, and how many one Redis carries.

Cost (the real service: `web.app`, a worker of the `actors` package, the rules engine, a Cloud API
stand-in): `BURSTS` customers each write 3 messages through the signed webhook; then `TASKS`
no-op tasks are submitted through `POST /api/background/tasks`. Each figure is the delta of the
server's own counters, less what the idle service does in the same time (consumers poll every
second here) and less this benchmark's own reads (`*_idle_taken_out`: how much was taken out as
idle; consumers busy with the load poll less, so it bounds the error):

- `redis_commands_per_burst`: INFO commandstats calls, commands that Lua scripts run included;
- `redis_roundtrips_per_burst`: INFO `total_reads_processed`, one per request or pipeline read;
- `redis_scripts_per_burst`: EVAL/EVALSHA calls (flow control's scripts);
- `pg_commits_per_burst`: pg_stat_database `xact_commit` (read after the backends flushed it);
- the same `_per_task`.

Saturation: `SENDERS` processes push bursts (3 messages to a no-op actor with `process_message`'s
debounce and idempotency, `bench.capacity_actors`) through the real broker as fast as it takes them,
while `WORKER_PROCESSES` x 8 threads run them; then the same with tasks. `*_per_s_one_redis` is
what was finished per second, `redis_cpu_share_*` the share of one core the redis-server used
meanwhile (1.0: Redis was the limit), `redis_cpu_us_per_*` Redis's CPU time per unit.

PostgreSQL's ceiling for comparison: `pg_commits_per_s_small_tx`, 8 connections committing one small
insert each after another for 5 s (fsync on).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import msgspec
import psycopg
import redis

from bench.fake_graph import FakeGraph
from bench.ingest import notification, seed_inventory, wait_for_drain, web_server
from bench.support import ROOT, WorkerGroup, prepare_environment, report
from zapq.settings import get_settings
from zapq.tokens import make_token
from zapq.whatsapp.signature import sign

SECRET = "bench-app-secret"
JWT = "bench-jwt-secret-of-at-least-32-bytes"
BURSTS = int(os.environ.get("BENCH_CAPACITY_BURSTS", "400"))
TASKS = int(os.environ.get("BENCH_CAPACITY_TASKS", "1000"))
SETTLE_S = 12.0  # a PostgreSQL backend reports its counters within 10 s of going idle
SENDERS = int(os.environ.get("BENCH_CAPACITY_SENDERS", "2"))
WORKER_PROCESSES = int(os.environ.get("BENCH_CAPACITY_WORKERS", "2"))
SATURATION_BURSTS = int(os.environ.get("BENCH_CAPACITY_SATURATION_BURSTS", "5000"))  # per sender
SATURATION_TASKS = int(os.environ.get("BENCH_CAPACITY_SATURATION_TASKS", "10000"))  # per sender
SATURATION_DEADLINE_S = 50.0
COMMIT_CLIENTS = 8
COMMIT_SECONDS = 5.0


@dataclass(frozen=True)
class Counters:
    at: float
    commands: int
    reads: int
    scripts: int
    commits: int
    redis_cpu_s: float

    def minus(self, other: Counters) -> Counters:
        return Counters(
            self.at - other.at, self.commands - other.commands, self.reads - other.reads,
            self.scripts - other.scripts, self.commits - other.commits, self.redis_cpu_s - other.redis_cpu_s,
        )  # fmt: skip

    def scaled(self, factor: float) -> Counters:
        return Counters(
            self.at * factor, round(self.commands * factor), round(self.reads * factor),
            round(self.scripts * factor), round(self.commits * factor), self.redis_cpu_s * factor,
        )  # fmt: skip


class Meter:
    """Reads the servers' counters; what the reading itself costs is taken out of every later delta."""

    READ_COST = (1, 1)  # commands, reads: one INFO everything

    def __init__(self, client: redis.Redis, database_url: str) -> None:
        self.client = client
        self.database_url = database_url
        self.reads_so_far = 0
        self.observer_commands = 0  # commands this process sent besides its INFO reads
        self.observer_reads = 0

    def read(self) -> Counters:
        general = self.client.info("everything")
        self.reads_so_far += 1
        stats = {name: entry for name, entry in general.items() if name.startswith("cmdstat_")}
        commands = sum(int(entry["calls"]) for entry in stats.values())
        scripts = sum(int(stats.get(f"cmdstat_{name}", {}).get("calls", 0)) for name in ("eval", "evalsha"))
        with psycopg.connect(self.database_url, autocommit=True) as connection:
            row = connection.execute(
                "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
            ).fetchone()
        commits = int(row[0]) if row else 0
        own_commands, own_reads = self.READ_COST
        return Counters(
            at=time.monotonic(),
            commands=commands - self.reads_so_far * own_commands - self.observer_commands,
            reads=int(general["total_reads_processed"]) - self.reads_so_far * own_reads - self.observer_reads,
            scripts=scripts,
            commits=commits - self.reads_so_far,  # each read is a transaction too
            redis_cpu_s=float(general["used_cpu_user"]) + float(general["used_cpu_sys"]),
        )

    @contextmanager
    def unobserved(self) -> Iterator[None]:
        """What this process sends inside the block is not counted (polling for the end of the load)."""
        before = self.client.info("stats")
        commands_before = int(before["total_commands_processed"])
        reads_before = int(before["total_reads_processed"])
        yield
        after = self.client.info("stats")
        self.observer_commands += int(after["total_commands_processed"]) - commands_before
        self.observer_reads += int(after["total_reads_processed"]) - reads_before


def main() -> None:
    graph = FakeGraph()
    os.environ.update(
        WHATSAPP_WEBHOOK_SECRET=SECRET, WHATSAPP_ACCESS_TOKEN="bench-token", WHATSAPP_API_URL=graph.url,
        JWT_SECRET=JWT, METRICS_PORT="0", LOG_LEVEL="INFO", ACCESS_LOG="0", DEBOUNCE_WINDOW_SECONDS="1",
    )  # fmt: skip
    os.environ.setdefault("GENERIC_WEBHOOK_SECRET", "bench-generic-secret")
    try:
        measure_costs(graph)
        measure_saturation()
        measure_commit_rate()
    finally:
        graph.stop()


def measure_costs(graph: FakeGraph) -> None:
    # An idle consumer polls every second (Dramatiq's default), not every 100 ms: the idle service's
    # commands, taken out of every figure, are then a small part of what is measured.
    os.environ.update(dramatiq_worker_timeout="1000")
    prepare_environment()
    settings = get_settings()
    client = redis.Redis.from_url(settings.redis_url)
    with psycopg.connect(settings.database_url, autocommit=True) as connection:
        connection.execute("TRUNCATE background_tasks CASCADE")
    meter = Meter(client, settings.database_url)
    with (
        WorkerGroup("bench.background_tasks", processes=1, threads=8),
        web_server("bench.background_app:create_app") as url,
    ):
        seed_inventory()
        time.sleep(SETTLE_S)
        idle_start = meter.read()
        time.sleep(SETTLE_S)
        idle = meter.read().minus(idle_start)

        before = meter.read()
        customers = send_bursts(url, BURSTS)
        with meter.unobserved():
            wait_for_replies(graph, customers)
            wait_for_drain()
        bursts, idle_part = _costs(meter, before, idle)
        _report_costs("burst", bursts, idle_part, BURSTS)

        before = meter.read()
        submit_tasks(url, TASKS)
        with meter.unobserved():
            wait_for_tasks(settings.database_url, TASKS)
            wait_for_drain()
        tasks, idle_part = _costs(meter, before, idle)
        _report_costs("task", tasks, idle_part, TASKS)
        report("redis_commands_per_s_idle_service", round(idle.commands / idle.at, 1))
        report("pg_commits_per_s_idle_service", round(idle.commits / idle.at, 2))


def _costs(meter: Meter, before: Counters, idle: Counters) -> tuple[Counters, Counters]:
    """Redis's counters as the load drained, less the idle service's in that time; PostgreSQL's once
    every backend has reported (`SETTLE_S` later), less what the idle service committed then. Also
    what was taken out as idle: busy consumers poll less, so it bounds the figures' error."""
    drained = meter.read().minus(before)
    idle_part = idle.scaled(drained.at / idle.at)
    redis_part = drained.minus(idle_part)
    time.sleep(SETTLE_S)
    settled = meter.read().minus(before)
    commits = settled.commits - round(idle.commits * settled.at / idle.at)
    costs = Counters(redis_part.at, redis_part.commands, redis_part.reads, redis_part.scripts, commits, 0.0)
    return costs, idle_part


def _report_costs(unit: str, delta: Counters, idle_part: Counters, count: int) -> None:
    report(f"redis_commands_per_{unit}", round(delta.commands / count, 1))
    report(f"redis_commands_per_{unit}_idle_taken_out", round(idle_part.commands / count, 1))
    report(f"redis_roundtrips_per_{unit}", round(delta.reads / count, 1))
    report(f"redis_scripts_per_{unit}", round(delta.scripts / count, 1))
    report(f"pg_commits_per_{unit}", round(delta.commits / count, 2))


def send_bursts(url: str, count: int) -> list[str]:
    run = uuid.uuid4().int % 10**6
    customers = [f"5531{run:06d}{number:03d}" for number in range(count)]

    def burst(customer: str) -> None:
        with httpx.Client(base_url=url, timeout=10) as http:
            for part, text in enumerate(("oi", "tem onix?", "qual o preço?")):
                body = msgspec.json.encode(
                    notification(customer, f"wamid.cap.{customer}.{part}", text, str(int(time.time())))
                )
                headers = {"X-Hub-Signature-256": sign(SECRET, body), "content-type": "application/json"}
                http.post("/webhook/whatsapp", content=body, headers=headers).raise_for_status()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(burst, customers))
    return customers


def wait_for_replies(graph: FakeGraph, customers: list[str], timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while any(graph.first_send_to(customer) is None for customer in customers):
        if time.monotonic() > deadline:
            raise RuntimeError("the bursts were not all answered in time")
        time.sleep(0.2)


def submit_tasks(url: str, count: int) -> None:
    token = make_token(JWT, organization_id="bench", user_id="capacity", ttl_s=3600)
    with httpx.Client(base_url=url, timeout=10, headers={"Authorization": f"Bearer {token}"}) as http:
        for _ in range(count):
            http.post("/api/background/tasks", json={"task_type": "bench_noop"}).raise_for_status()


def wait_for_tasks(database_url: str, count: int, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with psycopg.connect(database_url) as connection:
            row = connection.execute(
                "SELECT count(*) FROM background_tasks WHERE status = 'completed'"
            ).fetchone()
        if row and row[0] >= count:
            return
        time.sleep(0.2)
    raise RuntimeError("the tasks were not all completed in time")


def measure_saturation() -> None:
    from bench.capacity_actors import BURSTS_DONE, TASKS_DONE

    os.environ.update(dramatiq_worker_timeout="100")  # as `make worker`
    settings = get_settings()
    client = redis.Redis.from_url(settings.redis_url)
    with WorkerGroup("bench.capacity_actors", processes=WORKER_PROCESSES, threads=8):
        for kind, per_sender, done_key in (
            ("bursts", SATURATION_BURSTS, BURSTS_DONE),
            ("tasks", SATURATION_TASKS, TASKS_DONE),
        ):
            client.delete(done_key)
            total = per_sender * SENDERS
            load = [sys.executable, "-m", "bench.capacity_load"]
            senders = [
                subprocess.Popen([*load, kind, str(per_sender), f"{n}{uuid.uuid4().hex[:6]}"], cwd=ROOT)
                for n in range(SENDERS)
            ]
            # (time, units done, Redis CPU) every 100 ms; the rate is taken between 10% and 90% done,
            # so the senders' start-up and the last stragglers are left out.
            samples = []
            deadline = time.monotonic() + SATURATION_DEADLINE_S
            while time.monotonic() < deadline:
                samples.append((time.monotonic(), int(client.get(done_key) or 0), _redis_cpu_s(client)))
                if samples[-1][1] >= total:
                    break
                time.sleep(0.1)
            for sender in senders:
                sender.wait(timeout=30)
            first = next(sample for sample in samples if sample[1] >= 0.1 * total)
            last = next((sample for sample in samples if sample[1] >= 0.9 * total), samples[-1])
            elapsed, done, cpu = last[0] - first[0], last[1] - first[1], last[2] - first[2]
            unit = kind[:-1]
            report(f"{kind}_per_s_one_redis", round(done / elapsed, 1))
            report(f"redis_cpu_share_{kind}", round(cpu / elapsed, 2))
            report(f"redis_cpu_us_per_{unit}", round(cpu / max(done, 1) * 1e6, 1))
            report(f"saturation_{kind}", f"{samples[-1][1]} of {total} finished, rate over {elapsed:.1f} s")


def measure_commit_rate() -> None:
    """PostgreSQL's small-transaction ceiling here: COMMIT_CLIENTS connections, each committing one
    small insert after another (fsync on, as in production) for COMMIT_SECONDS."""
    import threading

    database_url = get_settings().database_url
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute(
            "CREATE TABLE IF NOT EXISTS bench_commits (id bigserial PRIMARY KEY, at timestamptz)"
        )
    commits = [0] * COMMIT_CLIENTS
    stop = threading.Event()

    def commit_loop(slot: int) -> None:
        with psycopg.connect(database_url, autocommit=True) as connection:
            while not stop.is_set():
                connection.execute("INSERT INTO bench_commits (at) VALUES (now())")
                commits[slot] += 1

    threads = [threading.Thread(target=commit_loop, args=(slot,)) for slot in range(COMMIT_CLIENTS)]
    for thread in threads:
        thread.start()
    time.sleep(COMMIT_SECONDS)
    stop.set()
    for thread in threads:
        thread.join()
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute("DROP TABLE bench_commits")
    report("pg_commits_per_s_small_tx", round(sum(commits) / COMMIT_SECONDS))
    report("pg_commit_clients", COMMIT_CLIENTS)


def _redis_cpu_s(client: redis.Redis) -> float:
    cpu = client.info("cpu")
    return float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])


if __name__ == "__main__":
    main()
