"""`make run` (`python -m zapq.run`) as a real subprocess, against servers and a Cloud API of the test's.

Every process of the run (web, worker and its forks, scheduler, and whatever the supervisor
restarts) inherits a marker in its environment, so the test finds them all however they
were started and re-parented, and can prove none is left behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Mapping
from pathlib import Path

import httpx

from tests.support.waiting import wait_until
from zapq.queues import TASKS_CRITICAL
from zapq.settings import SETTINGS_DOCS

ROOT = Path(__file__).resolve().parents[2]
MARKER = "ZAPQ_TEST_RUN_ID"
STOP_TIMEOUT_S = 30.0

# Settings other engineers are adding: set both, so the web starts whichever of them it requires.
GENERIC_WEBHOOK_ENV = {
    "GENERIC_WEBHOOK_SECRET": "fault-generic-secret",
    "GENERIC_WEBHOOK_ALLOW_UNSIGNED": "1",
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ZapqRun:
    """One `python -m zapq.run` with `settings` (environment variable -> value) on top of a clean env.

    The parent's zapq settings (the pytest session's servers and data dir) are not inherited:
    only `settings` configure the run.
    """

    def __init__(self, settings: Mapping[str, str], *, log_path: Path) -> None:
        self.run_id = uuid.uuid4().hex
        self.web_port = int(settings["WEB_PORT"])
        self.metrics_port = int(settings["METRICS_PORT"])
        inherited = {
            name: value
            for name, value in os.environ.items()
            if name not in SETTINGS_DOCS and not name.upper().startswith(("PROMETHEUS", "DRAMATIQ"))
        }
        self.env = inherited | dict(settings) | {MARKER: self.run_id}
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def pid(self) -> int:
        assert self.process is not None, "not started"
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 90.0) -> ZapqRun:
        """Start it and wait until the web answers and the worker serves its metrics."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "zapq.run"], cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        try:
            wait_until(lambda: self._answers("/health", self.web_port), timeout=timeout, what="web up")
            wait_until(
                lambda: self._answers("/metrics", self.metrics_port), timeout=timeout, what="worker up"
            )
            wait_until(lambda: self.worker_processes(), timeout=timeout, what="dramatiq worker processes")
        except AssertionError as error:
            self.stop()
            raise RuntimeError(f"zapq.run did not start ({error}); log:\n{self.log_tail()}") from None
        return self

    def dramatiq_main(self) -> int | None:
        """The `dramatiq` process the supervisor runs as its worker child, if one runs."""
        table = _process_table()
        for pid, (parent, command) in table.items():
            # Not the reserved priority worker (`--queues tasks_critical ...`).
            general = "periodiq" not in command and TASKS_CRITICAL not in command
            if parent == self.pid and "dramatiq" in command and general:
                return pid
        return None

    def worker_processes(self) -> list[int]:
        """The dramatiq main's worker processes, oldest first (its metrics fork starts after them)."""
        main = self.dramatiq_main()
        if main is None:
            return []
        children = [pid for pid, (parent, _) in _process_table().items() if parent == main]
        return sorted(children, key=_start_ticks)

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Ctrl-C and wait; past `timeout`, SIGKILL the run and everything it started."""
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        with contextlib.suppress(AssertionError):
            wait_until(lambda: not self.leftover_pids(), timeout=10, what="the run's processes to exit")
        self.kill_leftovers()

    def leftover_pids(self) -> list[int]:
        """Live processes carrying this run's marker: any of them after `stop()` was left behind."""
        needle = f"{MARKER}={self.run_id}".encode()
        found = []
        for proc in Path("/proc").iterdir():
            if proc.name.isdigit() and int(proc.name) != os.getpid():
                try:
                    if needle in (proc / "environ").read_bytes().split(b"\0") and _alive(int(proc.name)):
                        found.append(int(proc.name))
                except OSError:
                    continue
        return found

    def kill_leftovers(self) -> list[int]:
        """SIGKILL whatever carries the marker still; returns their pids (empty when the stop was clean)."""
        pids = self.leftover_pids()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return pids

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def _answers(self, path: str, port: int) -> bool:
        if not self.alive:
            raise AssertionError(f"zapq.run exited with {self.process.returncode if self.process else None}")
        try:
            return httpx.get(f"http://127.0.0.1:{port}{path}", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False


def _process_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of every live process."""
    table = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
        if fields[0] != "Z":
            table[int(proc.name)] = (int(fields[1]), command)
    return table


def _start_ticks(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    return int(stat[stat.rindex(")") + 2 :].split()[19])  # field 22, starttime


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2 :].split()[0] != "Z"
