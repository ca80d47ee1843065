"""Shared by the benchmarks: an isolated data dir, real worker processes, the report line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

from dramatiq.message import Message

from zapq.keyspace import messages_key, queue_key

ROOT = Path(__file__).resolve().parent.parent


def stage_messages(client: Any, namespace: str, queue: str, messages: Iterable[Message[Any]]) -> str:
    """Write messages as Dramatiq's enqueue would, on a staging list; RENAME it onto the queue to
    make them all visible at once. Returns the staging key."""
    staging = f"bench:staging:{uuid.uuid4().hex}"
    pipe = client.pipeline(transaction=False)
    for number, message in enumerate(messages):
        rid = str(uuid.uuid4())
        message.options["redis_message_id"] = rid
        pipe.hset(messages_key(queue_key(namespace, queue)), rid, message.encode())
        pipe.rpush(staging, rid)
        if number % 1000 == 999:
            pipe.execute()
    pipe.execute()
    return staging


def report(name: str, value: object) -> None:
    print(f"bench: {name} = {value}", flush=True)


def prepare_environment() -> None:
    """Benchmarks use their own embedded servers under var/bench, never the dev or test data."""
    os.environ.setdefault("ZAPQ_DATA_DIR", str(ROOT / "var" / "bench"))
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("dramatiq_worker_timeout", "100")
    from zapq.runtime import boot

    boot()


class WorkerGroup:
    """`dramatiq <module>:boot` with N processes x M threads for the duration of a `with` block."""

    def __init__(self, module: str, *, processes: int, threads: int, queues: tuple[str, ...] = ()) -> None:
        self.module = module
        self.queues = queues
        self.processes = processes
        self.threads = threads
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> WorkerGroup:
        return self.start(flush=True)

    def start(self, *, flush: bool) -> WorkerGroup:
        """Start the workers (emptying Redis first if `flush`); stop them with `__exit__`."""
        prepare_environment()
        import redis

        if flush:
            redis.Redis.from_url(os.environ["REDIS_URL"]).flushall()
        log_dir = ROOT / "var" / "bench"
        log_dir.mkdir(parents=True, exist_ok=True)  # absent when ZAPQ_DATA_DIR points elsewhere
        log = open(log_dir / f"{self.module}-{'-'.join(self.queues) or 'all'}.log", "wb")  # noqa: SIM115 (the workers' output, open while they run)
        queues = ["--queues", *self.queues] if self.queues else []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "dramatiq", f"{self.module}:boot", "--processes", str(self.processes),
             "--threads", str(self.threads), *queues],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            # INFO: Dramatiq's "Worker process is ready" is how this knows they started.
            env={**os.environ, "LOG_LEVEL": "INFO"},
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            log_path = Path(log.name)
            while log_path.read_text(errors="replace").count("Worker process is ready") < self.processes:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"bench workers did not start; see {log_path}")
                time.sleep(0.1)
            __import__(self.module)
        except BaseException:  # `with` calls no __exit__ when __enter__ fails: stop the workers here
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
            except ProcessLookupError:  # the whole group is gone already (workers failed to start)
                self.process.wait()
