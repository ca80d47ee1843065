"""`make run` and each part alone refuse settings that cannot work in one line naming the variable.

Exit code 2, nothing left running: every process a start began carries a marker in its
environment, and none may be alive afterwards.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.process_tree import left_behind
from tests.support.zapq_run import free_port

ROOT = Path(__file__).resolve().parents[2]
MARKER = "ZAPQ_CONFIG_TEST_RUN"

pytestmark = pytest.mark.processes


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port another program listens on."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield int(listener.getsockname()[1])


@pytest.fixture(autouse=True)
def kill_what_was_left(tmp_path: Path) -> Iterator[None]:
    """A failed test must not leave its leftovers to the next ones."""
    yield
    for pid in left_behind(f"{MARKER}={tmp_path}", tmp_path):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def start(
    command: list[str], tmp_path: Path, environment: dict[str, str], *, session_servers: bool = False
) -> tuple[subprocess.CompletedProcess[str], str]:
    """Run `command` to its end with `environment`; returns it and the marker its processes carry."""
    marker = f"{MARKER}={tmp_path}"
    dropped = {"OPENAI_API_KEY"} | (set() if session_servers else {"REDIS_URL", "DATABASE_URL"})
    env = {name: value for name, value in os.environ.items() if name not in dropped}
    env.update({"ZAPQ_DATA_DIR": str(tmp_path / "data"), "WEB_PORT": str(free_port()),
                "METRICS_PORT": str(free_port()), MARKER: str(tmp_path)})  # fmt: skip
    env.update(environment)
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    return result, marker


def assert_refused_in_one_line(result: subprocess.CompletedProcess[str], named: str) -> None:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and lines[0].startswith("zapq: ") and named in lines[0], result.stderr
    assert "Traceback" not in result.stdout + result.stderr


CLOSED = "{closed}"  # replaced by a port nothing listens on
BUSY = "{busy}"  # replaced by a port another program listens on


@pytest.mark.parametrize(
    ("environment", "named"),
    [
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({"WORKER_PROCESSES": "0"}, "WORKER_PROCESSES"),
        ({"CONVERSATION_ENGINE": "gpt"}, "CONVERSATION_ENGINE"),
        ({"CONVERSATION_ENGINE": "llm"}, "OPENAI_API_KEY"),
        ({"METRICS_PORT": "70000"}, "METRICS_PORT"),
        ({"WHATSAPP_API_URL": "https://graph.facebook.com/v21.0", "WHATSAPP_ACCESS_TOKEN": ""},
         "WHATSAPP_ACCESS_TOKEN"),
        ({"REDIS_URL": "localhost:6379"}, "REDIS_URL"),
        ({"DATABASE_URL": "nonsense"}, "DATABASE_URL"),
        ({"REDIS_URL": f"redis://:hunter2@127.0.0.1:{CLOSED}/0"}, "REDIS_URL=redis://:***@127.0.0.1:"),
        ({"DATABASE_URL": f"postgresql://zapq:hunter2@127.0.0.1:{CLOSED}/zapq"},
         "DATABASE_URL=postgresql://zapq:***@"),
        ({"WEB_PORT": BUSY}, "WEB_PORT"),
        ({"METRICS_PORT": BUSY}, "METRICS_PORT"),
    ],
    ids=[
        "log-level", "worker-processes", "engine", "llm-without-key", "metrics-port-range",
        "api-url-without-token", "redis-url-malformed", "database-url-malformed", "redis-unreachable",
        "postgresql-unreachable", "web-port-in-use", "metrics-port-in-use",
    ],
)  # fmt: skip
def test_make_run_stops_at_once_with_one_line_naming_the_variable_and_leaves_nothing(
    tmp_path: Path, busy_port: int, environment: dict[str, str], named: str
) -> None:
    unreachable = any(CLOSED in value for value in environment.values())
    closed = str(free_port())
    environment = {
        name: value.replace(CLOSED, closed).replace(BUSY, str(busy_port))
        for name, value in environment.items()
    }

    result, marker = start([sys.executable, "-m", "zapq.run"], tmp_path, environment)

    assert_refused_in_one_line(result, named)
    assert "hunter2" not in result.stdout + result.stderr  # what was tried, with the password masked
    if unreachable:
        assert "Connection refused" in result.stderr
    assert not (tmp_path / "data").exists()  # checked before anything was started or written
    assert left_behind(marker, tmp_path) == set()


def test_an_embedded_server_started_before_a_failure_is_stopped_again(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "postgres").write_text("not a directory")  # Redis starts, PostgreSQL cannot

    result, marker = start([sys.executable, "-m", "zapq.run"], tmp_path, {})

    assert result.returncode != 0
    assert "started embedded redis-server" in result.stderr
    assert left_behind(marker, tmp_path) == set()


def test_make_web_alone_refuses_a_port_in_use_in_one_line(tmp_path: Path, busy_port: int) -> None:
    result, marker = start([sys.executable, "-m", "web"], tmp_path, {"WEB_PORT": str(busy_port)})

    assert_refused_in_one_line(result, f"WEB_PORT={busy_port}: 127.0.0.1:{busy_port} is in use")
    assert left_behind(marker, tmp_path) == set()


def test_make_web_alone_refuses_a_redis_that_does_not_answer_in_one_line(tmp_path: Path) -> None:
    result, marker = start(
        [sys.executable, "-m", "web"], tmp_path, {"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    )

    assert_refused_in_one_line(result, "REDIS_URL")
    assert left_behind(marker, tmp_path) == set()


def test_make_worker_checks_first_and_refuses_a_metrics_port_in_use_in_one_line(
    tmp_path: Path, busy_port: int
) -> None:
    result, marker = start(
        [sys.executable, "-m", "zapq.preflight", "worker"], tmp_path, {"METRICS_PORT": str(busy_port)},
        session_servers=True,
    )  # fmt: skip

    assert_refused_in_one_line(result, "METRICS_PORT")
    assert left_behind(marker, tmp_path) == set()


def test_dramatiq_run_directly_names_the_variable_once_per_process_and_leaves_nothing(tmp_path: Path) -> None:
    unreachable = f"postgresql://zapq:hunter2@127.0.0.1:{free_port()}/zapq"
    command = [sys.executable, "-m", "dramatiq", "actors:boot", "--processes", "1", "--threads", "1"]

    result, marker = start(command, tmp_path, {"DATABASE_URL": unreachable})

    assert result.returncode != 0
    named = [line for line in result.stderr.splitlines() if line.startswith("zapq: ")]
    assert len(named) == 1 and "DATABASE_URL=postgresql://zapq:***@" in named[0], result.stderr
    assert "hunter2" not in result.stderr and "Traceback" not in result.stderr
    assert left_behind(marker, tmp_path) == set()
