"""Real `dramatiq` worker processes that a test can SIGKILL mid-task."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READY_LINE = "Worker process is ready for action."


class WorkerProcess:
    """`python -m dramatiq <module>:boot` in its own process group, its log captured to a file."""

    def __init__(
        self, module: str, *, processes: int = 1, threads: int = 4, env: dict[str, str] | None = None,
        log_dir: Path, shutdown_timeout_ms: int = 2000, queues: tuple[str, ...] = (),
    ) -> None:  # fmt: skip
        self.module = module
        self.processes = processes
        self.threads = threads
        self.shutdown_timeout_ms = shutdown_timeout_ms
        self.queues = queues  # empty: every queue
        self.env = {**os.environ, **(env or {})}
        self.log_path = log_dir / f"worker-{module}-{time.monotonic_ns()}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._lines: list[str] = []
        self._reader: threading.Thread | None = None

    def start(self, timeout: float = 30.0) -> WorkerProcess:
        command = [
            # Every actor module's entry point is its `boot` (see actors/__init__.py).
            sys.executable, "-m", "dramatiq", f"{self.module}:boot",
            "--processes", str(self.processes), "--threads", str(self.threads),
            "--worker-shutdown-timeout", str(self.shutdown_timeout_ms),
        ]  # fmt: skip
        if self.queues:
            command += ["--queues", *self.queues]
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        self._reader = threading.Thread(target=self._read_output, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + timeout
        while self.output.count(READY_LINE) < self.processes:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker did not start; log:\n{self.output[-4000:]}")
            time.sleep(0.05)
        return self

    @property
    def output(self) -> str:
        return "".join(self._lines)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def child_pids(self) -> list[int]:
        """PIDs of the worker processes (children of the dramatiq main process)."""
        path = Path(f"/proc/{self.pid}/task/{self.pid}/children")
        return [int(pid) for pid in path.read_text().split()] if path.exists() else []

    def kill(self) -> None:
        """SIGKILL the whole group: no shutdown hooks, no requeue, unacked messages stay unacked."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self, timeout: float = 15.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        else:
            self.kill()  # reap anything left in the group

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM the main process only, as a deploy or `systemctl stop` does, and return its exit code.

        Dramatiq's main process forwards the signal to its workers, which finish or requeue
        their messages within the shutdown timeout. Past `timeout`, the group is SIGKILLed.
        """
        if self.process is None:
            raise RuntimeError("worker was never started")
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=timeout)
        self.kill()  # past the timeout the SIGKILL that ends it; otherwise reaps any straggler
        return self.process.returncode

    def _read_output(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        with self.log_path.open("w") as log:
            for raw in self.process.stdout:
                line = raw.decode(errors="replace")
                self._lines.append(line)
                log.write(line)
                log.flush()
