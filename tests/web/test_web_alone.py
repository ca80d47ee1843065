"""`make web` (`python -m web`) starts alone on a fresh machine, with the secrets `make run` would make up."""

from __future__ import annotations

import os
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
