"""Where a local `make run` is: it writes `$ZAPQ_DATA_DIR/run.json`, `make chat` reads it.

It holds addresses only (the web, the demo's Cloud API stand-in, the demo business number), never
a secret: the webhook secret stays in its own 0600 file (`zapq.dev_secrets`). A run that is not a
demo records an empty `cloud_api_url`, so that `make chat` can say why it cannot help.
"""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

from zapq.processes import pid_alive

RUN_FILE = "run.json"


class LocalRun(msgspec.Struct, frozen=True, kw_only=True):
    web_url: str
    cloud_api_url: str  # "" when the run is not a demo
    phone_number_id: str
    pid: int

    @property
    def is_demo(self) -> bool:
        return bool(self.cloud_api_url)


def run_file(data_dir: Path) -> Path:
    return data_dir / RUN_FILE


def record_local_run(data_dir: Path, run: LocalRun) -> Path:
    """Write it whole or not at all: a chat starting meanwhile never reads half a file."""
    path = run_file(data_dir)
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    partial.write_bytes(msgspec.json.encode(run))
    partial.replace(path)
    return path


def find_local_run(data_dir: Path) -> LocalRun | None:
    """The run recorded under `data_dir` if its process still lives, else None."""
    try:
        run = msgspec.json.decode(run_file(data_dir).read_bytes(), type=LocalRun)
    except (OSError, msgspec.DecodeError):
        return None
    return run if pid_alive(run.pid) else None


def forget_local_run(data_dir: Path, pid: int) -> None:
    """Remove the record, if it is still this process's (a later run may have replaced it)."""
    try:
        run = msgspec.json.decode(run_file(data_dir).read_bytes(), type=LocalRun)
    except (OSError, msgspec.DecodeError):
        return
    if run.pid == pid:
        run_file(data_dir).unlink(missing_ok=True)
