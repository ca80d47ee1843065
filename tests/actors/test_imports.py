"""Importing zapq's modules starts nothing: booting is the entry points' job."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.processes

ROOT = Path(__file__).resolve().parents[2]

WORKER_ONLY = (
    "actors.services", "httpx", "zapq.conversation.burst", "zapq.conversation.rules", "zapq.conversation.llm",
    "zapq.conversation.inventory", "zapq.conversation.crm", "zapq.whatsapp.client", "zapq.whatsapp.sender",
    "zapq.whatsapp.pacing", "zapq.db.outbound_messages",
)  # fmt: skip


def run_python(code: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    """`python -c code` with no Redis or PostgreSQL configured: booting would start embedded ones."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env["ZAPQ_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_importing_an_actor_module_starts_no_server_and_writes_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    result = run_python(
        "import actors.conversation, actors.webhook_events, schedules, zapq.queues",
        data_dir,
    )
    assert result.returncode == 0, result.stderr
    assert not data_dir.exists()  # no embedded server, no metrics directory, no migrations
    assert "redis" not in result.stderr.lower() and "postgres" not in result.stderr.lower()


def test_importing_the_web_app_imports_nothing_only_workers_need(tmp_path: Path) -> None:
    result = run_python(
        "import sys, web.app; print(' '.join(sorted(m for m in sys.modules)))", tmp_path / "data"
    )
    assert result.returncode == 0, result.stderr
    loaded = set(result.stdout.split())
    assert sorted(loaded & set(WORKER_ONLY)) == []


def test_the_schedules_import_nothing_of_zapq_so_no_package_imports_back_into_actors(tmp_path: Path) -> None:
    result = run_python("import sys, schedules; print(' '.join(sorted(sys.modules)))", tmp_path / "data")
    assert result.returncode == 0, result.stderr
    ours = ("actors", "zapq", "web", "middleware")
    assert [module for module in result.stdout.split() if module.split(".")[0] in ours] == []
