"""`make web` (`python -m web`) starts alone on a fresh machine, with the secrets `make run` would make up."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.processes


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_python_m_web_without_secrets_makes_them_up_and_serves(settings, tmp_path: Path) -> None:
    port = free_port()
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if "SECRET" not in k and k != "WHATSAPP_SKIP_SIGNATURE"}
    env.update({"ZAPQ_DATA_DIR": str(data_dir), "WEB_PORT": str(port)})  # the session's Redis and PostgreSQL
    web = subprocess.Popen(
        [sys.executable, "-m", "web"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert web.poll() is None, web.stderr.read().decode() if web.stderr else ""
            assert time.monotonic() < deadline, "python -m web did not answer /health"
            time.sleep(0.2)
        assert (data_dir / "dev-webhook-secret").stat().st_mode & 0o777 == 0o600
        assert (data_dir / "dev-generic-webhook-secret").exists()
    finally:
        web.send_signal(signal.SIGINT)
        web.wait(timeout=15)


def test_under_uvicorns_command_line_every_line_has_zapqs_format_and_each_request_one(
    settings, tmp_path: Path
) -> None:
    """As `make run` and the systemd unit start it: uvicorn's own lines and ours, one format, one handler."""
    port = free_port()
    env = {**os.environ, "ZAPQ_DATA_DIR": str(tmp_path / "data")}
    web = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "web.app:create_app", "--port", str(port),
         "--no-access-log"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/nowhere?token=s3cret", timeout=1).status_code == 404:
                    break
            except httpx.HTTPError:
                pass
            assert web.poll() is None, web.stdout.read() if web.stdout else ""
            assert time.monotonic() < deadline, "uvicorn did not answer"
            time.sleep(0.2)
    finally:
        web.send_signal(signal.SIGINT)
        output, _ = web.communicate(timeout=15)

    lines = output.splitlines()
    zapq_format = re.compile(
        r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) \S+ "
    )
    assert [line for line in lines if not zapq_format.match(line)] == []
    assert [line for line in lines if " uvicorn.error Application startup complete." in line]
    assert [
        line
        for line in lines
        if re.search(r" INFO web.access_log GET /nowhere\?token 404 \S+ 127.0.0.1$", line)
    ]
    assert "s3cret" not in output
