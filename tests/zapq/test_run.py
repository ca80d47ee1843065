"""`make run`'s entry point end to end: starts everything, serves, and leaves nothing behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import psycopg

from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def live_processes() -> dict[int, int]:
    """pid -> parent pid, for every process that is not a zombie."""
    parents = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                status = dict(
                    line.split(":\t", 1)
                    for line in (proc / "status").read_text().splitlines()
                    if ":\t" in line
                )
            except OSError:
                continue
            if not status.get("State", "").startswith("Z"):
                parents[int(proc.name)] = int(status["PPid"])
    return parents


def descendants(root: int) -> set[int]:
    parents = live_processes()
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pids: set[int]) -> set[int]:
    return pids & set(live_processes())


def test_run_serves_a_webhook_end_to_end_and_ctrl_c_leaves_no_process(tmp_path: Path):
    data_dir = tmp_path / "zapq-run"
    web_port, metrics_port = free_port(), free_port()
    env = {
        key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "DATABASE_URL")
    } | {
        "ZAPQ_DATA_DIR": str(data_dir), "WEB_PORT": str(web_port), "METRICS_PORT": str(metrics_port),
        "WORKER_PROCESSES": "1", "WORKER_THREADS": "2",
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
        posted = httpx.post(f"http://127.0.0.1:{web_port}/webhook", json={"unique_id": "u1", "message": "oi"})
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
    wait_until(lambda: not alive(spawned), timeout=5, what=f"no survivors among {spawned}")


def _get(url: str) -> str | None:
    try:
        response = httpx.get(url, timeout=2)
    except httpx.HTTPError:
        return None
    return response.text if response.status_code == 200 else None


def test_a_local_run_without_the_app_secret_gets_a_random_one_under_the_data_dir(tmp_path, monkeypatch):
    from zapq.run import ensure_webhook_secret
    from zapq.settings import get_settings

    monkeypatch.setenv("ZAPQ_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("WHATSAPP_WEBHOOK_SECRET", "")
    get_settings.cache_clear()

    path = ensure_webhook_secret()

    assert path == tmp_path / "dev-webhook-secret"
    secret = path.read_text()
    assert len(secret) == 64 and get_settings().whatsapp_webhook_secret == secret
    assert ensure_webhook_secret() is None  # now set: kept as it is
