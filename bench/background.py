"""The background-task service: submissions per second, a task's end-to-end latency, streams held,
and how soon critical work starts behind a backlog of low work.

- `tasks_submit_rps`: `POST /api/background/tasks` under wrk with a JWT on one uvicorn process, and its
  ratio to the same endpoint with the enqueue removed (`bench.background_app`), measured in this run.
- `task_e2e_p50_ms`, `task_e2e_p99_ms`: a no-op task from the POST to its `completed` event on its stream.
- `sse_clients_held`: streams one web process holds while every client gets every event of a task
  within 1 s of its being written (each level tried in turn; the largest that held).
- `critical_start_under_low_backlog_s`: 500 queued low tasks keep the general worker busy; a critical
  task's wait from submission to start on the reserved worker.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import tempfile
import time
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path

import httpx

from bench.ingest import percentile, run_wrk, web_server
from bench.support import WorkerGroup, prepare_environment, report
from zapq.queues import GENERAL_QUEUES, RESERVED_QUEUES
from zapq.tokens import make_token

SECRET = "bench-jwt-secret-of-at-least-32-bytes"
API = "/api/background"
E2E_TASKS = int(os.environ.get("BENCH_E2E_TASKS", "100"))
STREAM_LEVELS = [int(n) for n in os.environ.get("BENCH_SSE_LEVELS", "1000,2000,4000").split(",")]
LOW_BACKLOG = 500
WRK_CONNECTIONS = 32


def main() -> None:
    # Two worker groups at once, and other runs on this machine: no fixed metrics port.
    os.environ.update(JWT_SECRET=SECRET, WHATSAPP_WEBHOOK_SECRET="bench-app-secret", METRICS_PORT="0")
    # WorkerGroup waits for the workers' INFO line "ready"; no access line per request.
    os.environ.update(LOG_LEVEL="INFO", ACCESS_LOG="0")
    os.environ.setdefault("GENERIC_WEBHOOK_SECRET", "bench-generic-secret")
    prepare_environment()
    headers = {
        "Authorization": f"Bearer {make_token(SECRET, organization_id='bench', user_id='b', ttl_s=3600)}"
    }
    submit_rps(headers)
    _clear_tasks()
    workers = WorkerGroup("bench.background_tasks", processes=1, threads=8)
    with workers, web_server("bench.background_app:create_app") as url:
        latencies = asyncio.run(end_to_end(url, headers))
        report("task_e2e_p50_ms", round(statistics.median(latencies), 1))
        report("task_e2e_p99_ms", round(percentile(latencies, 99), 1))
        held = 0
        for clients in STREAM_LEVELS:
            if not asyncio.run(streams_hold(url, headers, clients)):
                break
            held = clients
        report("sse_clients_held", held)
    _clear_tasks()
    report("critical_start_under_low_backlog_s", critical_start(headers))


def submit_rps(headers: dict[str, str]) -> None:
    wrk = shutil.which("wrk")
    if wrk is None:
        report("tasks_submit_rps", "skipped: wrk is not installed (apt-get install wrk)")
        return
    script = Path(tempfile.mkdtemp()) / "submit.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        f'wrk.path = "{API}/tasks"\n'
        'wrk.body = \'{"task_type": "bench_noop", "payload": {"n": 1}}\'\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "{headers["Authorization"]}"\n'
    )
    with web_server("bench.background_app:create_app_without_enqueue") as url:
        bare = run_wrk(wrk, url, script, WRK_CONNECTIONS)
    _clear_tasks()
    with web_server("bench.background_app:create_app") as url:
        real = run_wrk(wrk, url, script, WRK_CONNECTIONS)
    report("tasks_submit_rps", round(real.rps))
    report("tasks_submit_p99_ms", real.p99_ms)
    report("tasks_submit_without_enqueue_rps", round(bare.rps))
    report("tasks_submit_ratio_to_without_enqueue", round(real.rps / bare.rps, 3))


async def end_to_end(url: str, headers: dict[str, str]) -> list[float]:
    latencies = []
    async with httpx.AsyncClient(base_url=url + API, headers=headers, timeout=30) as client:
        for _ in range(E2E_TASKS):
            began = time.perf_counter()
            answer = await client.post("/tasks", json={"task_type": "bench_noop"})
            task_id = answer.json()["task_id"]
            async with client.stream("GET", f"/tasks/{task_id}/stream") as stream:
                async for line in stream.aiter_lines():
                    if line.startswith("data: ") and '"status":"completed"' in line:
                        break
            latencies.append((time.perf_counter() - began) * 1000)
    return latencies


async def streams_hold(url: str, headers: dict[str, str], clients: int) -> bool:
    """True when every one of `clients` streams got each of the task's events within 1 s of its writing."""
    limits = httpx.Limits(max_connections=clients + 10, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=url + API, headers=headers, timeout=60, limits=limits) as client:
        # The first event comes once every client had time to connect (each then gets all five).
        payload = {"ticks": 5, "start_after_s": 3 + clients / 200}
        answer = await client.post("/tasks", json={"task_type": "bench_ticker", "payload": payload})
        task_id = answer.json()["task_id"]

        async def follow() -> list[float]:
            lags = []
            async with client.stream("GET", f"/tasks/{task_id}/stream") as stream:
                async for line in stream.aiter_lines():
                    if line.startswith("data: ") and '"progress"' in line and '"status"' not in line:
                        lags.append(time.time())
            return lags

        followers = [asyncio.create_task(follow()) for _ in range(clients)]
        received = await asyncio.gather(*followers, return_exceptions=True)
    written = _progress_times(task_id)
    failures = [
        result for result in received if isinstance(result, BaseException) or len(result) != len(written)
    ]
    lags = [got - at for result in received if not isinstance(result, BaseException)
            for got, at in zip(result, written, strict=False)]  # fmt: skip
    worst = max(lags, default=float("inf"))
    report(f"sse_{clients}_clients_worst_lag_s", f"{worst:.3f} ({len(failures)} clients missed events)")
    return not failures and worst <= 1.0


def _progress_times(task_id: str) -> list[float]:
    from zapq.db.connection import connect

    with connect() as connection:
        rows = connection.execute(
            "SELECT created_at FROM background_task_events"
            " WHERE task_id = %s AND kind = 'progress' ORDER BY seq",
            (task_id,),
        ).fetchall()
    return [row[0].timestamp() for row in rows]


def critical_start(headers: dict[str, str]) -> float:
    from zapq.background.api import submit_task
    from zapq.db.connection import connect

    general = WorkerGroup("bench.background_tasks", processes=1, threads=4, queues=GENERAL_QUEUES)
    reserved = WorkerGroup("bench.background_tasks", processes=1, threads=2, queues=RESERVED_QUEUES)
    with ExitStack() as stack:
        for group, flush in ((general, True), (reserved, False)):
            group.start(flush=flush)
            stack.callback(group.__exit__, None, None, None)
        connection = stack.enter_context(connect())
        import actors
        from actors.broker import bind_broker

        bind_broker(actors.broker, os.environ["REDIS_URL"])
        for _ in range(LOW_BACKLOG):
            submit_task("bench_ticker", {"ticks": 1, "interval_s": 0.5}, organization_id="bench", user_id="b",
                        priority="low", connection=connection)  # fmt: skip
        time.sleep(1.0)
        task_id = submit_task("bench_noop", {}, organization_id="bench", user_id="b", priority="critical",
                              connection=connection)  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            row = connection.execute(
                "SELECT started_at, created_at FROM background_tasks"
                " WHERE id = %s AND started_at IS NOT NULL",
                (task_id,),
            ).fetchone()
            if row:
                started: datetime = row[0]
                return round((started - row[1]).total_seconds(), 3)
            time.sleep(0.02)
    raise RuntimeError("the critical task did not start within 30 s")


def _clear_tasks() -> None:
    from zapq.db.connection import connect

    with connect() as connection:
        connection.execute("TRUNCATE background_tasks CASCADE")
