"""`make run`'s entry point end to end: starts everything, serves, and leaves nothing behind."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.support.process_tree import alive, children_running, descendants
from tests.support.waiting import wait_until
from zapq.queues import TASKS_CRITICAL
from zapq.whatsapp.signature import ZAPQ_SIGNATURE_HEADER as SIGNATURE_HEADER
from zapq.whatsapp.signature import sign

pytestmark = pytest.mark.processes

ROOT = Path(__file__).resolve().parents[2]
# The run's GENERIC_WEBHOOK_SECRET: POST /webhook takes only events signed with it.
GENERIC_SECRET = "run-test-generic-secret"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_run_serves_a_webhook_end_to_end_and_ctrl_c_leaves_no_process(settings, tmp_path: Path):
    data_dir = tmp_path / "zapq-run"
    web_port, metrics_port = free_port(), free_port()
    # No servers and no Cloud API configured: everything embedded, replies to the demo's stand-in.
    unset = ("REDIS_URL", "DATABASE_URL", "WHATSAPP_ACCESS_TOKEN", "WHATSAPP_API_URL")
    env = {key: value for key, value in os.environ.items() if key not in unset} | {
        "ZAPQ_DATA_DIR": str(data_dir), "WEB_PORT": str(web_port), "METRICS_PORT": str(metrics_port),
        "WORKER_PROCESSES": "1", "WORKER_THREADS": "2", "GENERIC_WEBHOOK_SECRET": GENERIC_SECRET,
    }  # fmt: skip
    run = subprocess.Popen(
        [sys.executable, "-m", "zapq.run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until(lambda: _get(f"http://127.0.0.1:{web_port}/health/ready"), timeout=60, what="web ready")
        posted = post_event(web_port, {"unique_id": "u1", "message": "oi"})
        assert posted.status_code == 202
        database_url = (data_dir / "postgres").as_posix()
        with psycopg.connect(f"postgresql://postgres:@/postgres?host={database_url}", autocommit=True) as db:
            wait_until(
                lambda: db.execute("SELECT count(*) FROM webhook_events").fetchone()[0] == 1,
                timeout=30,
                what="the event row",
            )
        wait_until(
            lambda: "store_webhook_events" in (_get(f"http://127.0.0.1:{metrics_port}/metrics") or ""),
            timeout=15,
            what="worker metrics",
        )
        # Children run in their own sessions; the embedded servers are detached on purpose.
        spawned = descendants(run.pid) | {
            int((data_dir / "redis" / "redis.pid").read_text()),
            int((data_dir / "postgres" / "postmaster.pid").read_text().splitlines()[0]),
        }
        assert len(spawned) >= 5
    finally:
        run.send_signal(signal.SIGINT)
        output, _ = run.communicate(timeout=30)
    assert b"zapq stopped." in output, output.decode(errors="replace")[-3000:]
    # Nothing configured for WhatsApp: the banner says it is a demo, how to talk to it, how to go live.
    assert b"running as a local demo" in output and b"make chat" in output and b"To go live" in output
    # PostgreSQL's postmaster finishes its shutdown checkpoint after `pg_ctl stop` returns: seconds
    # on a loaded machine.
    wait_until(lambda: not alive(spawned), timeout=15, what=f"no survivors among {spawned}")


def test_run_restarts_a_worker_whose_processes_were_killed_and_ctrl_c_still_stops_everything(
    settings, tmp_path: Path
):
    web_port, metrics_port = free_port(), free_port()
    # REDIS_URL and DATABASE_URL stay those of the test session: this run starts no servers of its own.
    env = os.environ | {
        "ZAPQ_DATA_DIR": str(tmp_path / "zapq-run"), "WEB_PORT": str(web_port),
        "METRICS_PORT": str(metrics_port), "WORKER_PROCESSES": "1", "WORKER_THREADS": "2",
        "GENERIC_WEBHOOK_SECRET": GENERIC_SECRET,
    }  # fmt: skip
    log_path = tmp_path / "run.log"  # a file, not a pipe: a full pipe would block the run while it logs
    with log_path.open("wb") as log:
        run = subprocess.Popen([sys.executable, "-m", "zapq.run"], cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        metrics = f"http://127.0.0.1:{metrics_port}/metrics"
        wait_until(lambda: _get(metrics) is not None, timeout=60, what="the worker's metrics endpoint")
        [worker] = general_workers(run.pid)
        forks = descendants(worker)
        # What the issue saw: a worker process SIGKILLed makes dramatiq's main process shut down.
        for fork in forks:
            with contextlib.suppress(ProcessLookupError):  # dramatiq may already have stopped it
                os.kill(fork, signal.SIGKILL)

        wait_until(lambda: general_workers(run.pid) - {worker}, timeout=20, what="a new worker")
        [new_worker] = general_workers(run.pid)
        assert _get(f"http://127.0.0.1:{web_port}/health") is not None
        posted = post_event(web_port, {"unique_id": "u1", "message": "oi"})
        assert posted.status_code == 202
        with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as db:
            wait_until(
                lambda: db.execute("SELECT count(*) FROM webhook_events").fetchone()[0] == 1,
                timeout=20,
                what="the new worker to store the event",
            )
        spawned = descendants(run.pid)
    finally:
        run.send_signal(signal.SIGINT)
        run.wait(timeout=30)
    output = log_path.read_text(errors="replace")

    crash = rf"worker \(pid {worker}\) exited with code 1; restarting in 1.0 s"
    assert re.search(crash, output) and f"worker restarted (pid {new_worker})" in output, output[-3000:]
    assert run.returncode == 0 and "zapq stopped." in output, output[-3000:]
    wait_until(lambda: not alive(spawned | forks), timeout=5, what=f"no survivors among {spawned | forks}")


def general_workers(run_pid: int) -> set[int]:
    """The `dramatiq` children of the run but the reserved priority worker."""
    return children_running(run_pid, "dramatiq") - children_running(run_pid, TASKS_CRITICAL)


def post_event(web_port: int, event: dict[str, str]) -> httpx.Response:
    body = json.dumps(event).encode()
    headers = {"content-type": "application/json", SIGNATURE_HEADER: sign(GENERIC_SECRET, body)}
    return httpx.post(f"http://127.0.0.1:{web_port}/webhook", content=body, headers=headers)


def _get(url: str) -> str | None:
    try:
        response = httpx.get(url, timeout=2)
    except httpx.HTTPError:
        return None
    return response.text if response.status_code == 200 else None


def test_a_local_run_without_the_app_secret_gets_a_random_one_under_the_data_dir(tmp_path, monkeypatch):
    from zapq.dev_secrets import ensure_webhook_secret
    from zapq.settings import get_settings

    monkeypatch.setenv("ZAPQ_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("WHATSAPP_WEBHOOK_SECRET", "")
    get_settings.cache_clear()

    path = ensure_webhook_secret()

    assert path == tmp_path / "dev-webhook-secret"
    secret = path.read_text()
    assert len(secret) == 64 and get_settings().whatsapp_webhook_secret == secret
    assert ensure_webhook_secret() is None  # now set: kept as it is
