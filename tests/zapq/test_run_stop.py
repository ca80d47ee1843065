"""Ctrl-C stops `make run` cleanly: a reply in flight is finished, and `make` says nothing of it.

Real processes throughout: `python -m zapq.run` (and `make run`) on the session's Redis and
PostgreSQL, a Cloud API stand-in in this process that holds its answer to a send.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.support.waiting import wait_until
from tests.support.zapq_run import ROOT, ZapqRun, free_port
from zapq.demo.cloud_api import CloudApiStandIn
from zapq.demo.webhooks import customer_message, signed_headers
from zapq.settings import SETTINGS_DOCS

pytestmark = pytest.mark.processes

APP_SECRET = "stop-test-app-secret"
TOKEN = "stop-test-token"
CUSTOMER = "5511955554444"
HOLD_S = 3.0


def test_ctrl_c_while_a_reply_is_in_flight_lets_it_finish_and_the_run_exits_0(
    settings, db: psycopg.Connection, tmp_path: Path
) -> None:
    cloud_api = CloudApiStandIn(APP_SECRET, access_token=TOKEN, send_delay_s=HOLD_S).start()
    run = ZapqRun(
        {
            "ZAPQ_DATA_DIR": str(tmp_path / "data"), "REDIS_URL": settings.redis_url,
            "DATABASE_URL": settings.database_url, "WEB_PORT": str(free_port()),
            "METRICS_PORT": str(free_port()), "WORKER_PROCESSES": "1", "WORKER_THREADS": "2",
            "WHATSAPP_API_URL": cloud_api.url, "WHATSAPP_ACCESS_TOKEN": TOKEN,
            "WHATSAPP_WEBHOOK_SECRET": APP_SECRET, "GENERIC_WEBHOOK_SECRET": "stop-test-generic",
            "DEBOUNCE_WINDOW_SECONDS": "0.3", "DEBOUNCE_MAX_WAIT_SECONDS": "2",
        },
        log_path=tmp_path / "run.log",
    )  # fmt: skip
    try:
        run.start()
        cloud_api.statuses.webhook_url = f"{run.web_url}/webhook/whatsapp"
        body = customer_message(CUSTOMER, "Ana", "wamid.stop.1", "text", {"body": "oi, tem HB20?"})
        headers = signed_headers(APP_SECRET, body)
        posted = httpx.post(f"{run.web_url}/webhook/whatsapp", content=body, headers=headers)
        assert posted.status_code == 200
        wait_until(lambda: cloud_api.sent(), timeout=30, what="the reply to reach the Cloud API")
        [reply] = cloud_api.sent()
        assert cloud_api.answered_at(reply.wamid) is None  # held: the reply is in flight

        assert run.process is not None
        run.process.send_signal(signal.SIGINT)
        exit_code = run.process.wait(timeout=40)
        exited_at = time.monotonic()
    finally:
        run.stop()
        cloud_api.stop()

    log = run.log_path.read_text(errors="replace")
    answered_at = cloud_api.answered_at(reply.wamid)
    assert answered_at is not None and answered_at < exited_at, log[-3000:]  # answered 200, before the exit
    [(status, wamid)] = db.execute(
        "SELECT status, wamid FROM outbound_messages WHERE recipient = %s", (CUSTOMER,)
    ).fetchall()
    assert (status, wamid) == ("sent", reply.wamid)  # the ledger knows it went
    assert exit_code == 0 and "zapq stopped." in log
    assert "Killing worker process" not in log, log[-3000:]


def test_ctrl_c_in_the_terminal_stops_make_run_without_a_word_from_make(settings, tmp_path: Path) -> None:
    web_port = free_port()
    env = {name: value for name, value in os.environ.items() if name not in SETTINGS_DOCS}
    env.update({
        "ZAPQ_DATA_DIR": str(tmp_path / "data"), "REDIS_URL": settings.redis_url,
        "DATABASE_URL": settings.database_url, "WEB_PORT": str(web_port), "METRICS_PORT": str(free_port()),
        "WORKER_PROCESSES": "1", "WORKER_THREADS": "2",
    })  # fmt: skip
    log_path = tmp_path / "make.log"
    with log_path.open("wb") as log:
        # Its own process group, as a terminal's foreground job: Ctrl-C signals the whole group.
        make = subprocess.Popen(
            ["make", "--no-print-directory", "run"], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        wait_until(lambda: "Ctrl-C stops everything." in log_path.read_text(), timeout=60, what="the banner")
        wait_until(lambda: _answers(f"http://127.0.0.1:{web_port}/health"), timeout=30, what="the web")

        os.killpg(make.pid, signal.SIGINT)
        make.wait(timeout=40)
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
            make.wait()
    output = log_path.read_text(errors="replace")

    assert "zapq stopped." in output
    assert "make: ***" not in output and "Traceback" not in output, output[-3000:]
    # make ends as a Ctrl-C'd program does (killed by SIGINT): the shell prints nothing for that.
    assert make.returncode == -signal.SIGINT


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_make_worker_alone_starts_the_embedded_servers_works_and_stops_on_ctrl_c_leaving_them_up(
    tmp_path: Path,
) -> None:
    data_dir, metrics_port = tmp_path / "data", free_port()
    env = {name: value for name, value in os.environ.items() if name not in SETTINGS_DOCS}
    env.update({"ZAPQ_DATA_DIR": str(data_dir), "METRICS_PORT": str(metrics_port), "WORKER_PROCESSES": "1",
                "WORKER_THREADS": "2"})  # fmt: skip
    log_path = tmp_path / "make.log"
    with log_path.open("wb") as log:
        make = subprocess.Popen(
            ["make", "--no-print-directory", "worker"], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        try:
            wait_until(lambda: _answers(f"http://127.0.0.1:{metrics_port}/metrics"), timeout=60)
        except AssertionError:
            raise AssertionError(f"the worker did not serve its metrics:\n{log_path.read_text()}") from None
        os.killpg(make.pid, signal.SIGINT)
        make.wait(timeout=40)
        output = log_path.read_text(errors="replace")
        assert "Worker has been shut down." in output
        assert "make: ***" not in output and "Traceback" not in output, output[-3000:]
        # Left running for the next part started alone, as documented (make stop stops them).
        assert (data_dir / "redis" / "redis.url").exists() and (
            data_dir / "postgres" / "postmaster.pid"
        ).exists()
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
            make.wait()
        subprocess.run(
            [sys.executable, "-m", "zapq.services", "stop"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            timeout=60,
        )
