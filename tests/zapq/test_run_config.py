"""`make run` refuses configuration that would break every message: one line, non-zero, nothing started."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.processes


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL"),
        ("WORKER_PROCESSES", "0", "WORKER_PROCESSES"),
        ("CONVERSATION_ENGINE", "gpt", "CONVERSATION_ENGINE"),
        ("CONVERSATION_ENGINE", "llm", "OPENAI_API_KEY"),
        ("METRICS_PORT", "70000", "METRICS_PORT"),
    ],
)
def test_make_run_stops_at_once_with_one_line_naming_the_variable(
    tmp_path: Path, variable: str, value: str, named: str
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL", "OPENAI_API_KEY")}
    env.update({"ZAPQ_DATA_DIR": str(tmp_path / "data"), variable: value})
    result = subprocess.run(
        [sys.executable, "-m", "zapq.run"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("zapq: ") and named in lines[0], result.stderr
    assert not (tmp_path / "data").exists()  # no embedded server was started
