"""A private PostgreSQL a test may stop for a while and start again, at the same URL, with its data.

The session's embedded PostgreSQL is shared by every test, so stopping it is off limits. This one
runs the binaries of the `pgserver` wheel (as zapq's embedded server does) on a fixed TCP port
chosen once, so a client's URL survives `stop()` and `start()`: an outage, not a new server.
As root, initdb and postgres run as pgserver's system user, because PostgreSQL refuses root.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
from pathlib import Path
from types import TracebackType

import psycopg

from tests.support.waiting import wait_until

STARTUP_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 30.0
SYSTEM_USER = "pgserver"  # the user pgserver itself runs PostgreSQL as when started by root


def pg_binary(name: str) -> Path:
    from pgserver._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH) / name


class RestartablePostgres:
    """PostgreSQL on 127.0.0.1:`port` (no unix socket), data in `directory/pgdata`, trust auth.

    `also_on`: more addresses it listens on, each trusting clients of its /24.
    """

    def __init__(self, directory: Path, *, port: int | None = None, also_on: tuple[str, ...] = ()) -> None:
        self.directory = directory
        self.also_on = also_on
        self.pgdata = directory / "pgdata"
        self.log_path = directory / "postgres.log"
        self._port = port if port is not None else _free_loopback_port()
        self._sessions: list[int] = []  # postmaster pids so far: each leads its backends' session

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self._port}/postgres"

    @property
    def pid(self) -> int | None:
        """The postmaster's pid while it runs (from postmaster.pid), else None."""
        try:
            pid = int((self.pgdata / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None
        return pid if _alive(pid) else None

    @property
    def running(self) -> bool:
        return self.pid is not None

    def start(self, timeout: float = STARTUP_TIMEOUT_S) -> RestartablePostgres:
        """Initialise the cluster on first use, start it, and wait until it takes connections."""
        if self.running:
            raise RuntimeError(f"postgres already running, pid {self.pid}")
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb()
        options = f"-h {','.join(('127.0.0.1', *self.also_on))} -p {self._port} -k ''"
        self._pg_ctl(
            "-w", "-t", str(int(timeout)), "-l", str(self.log_path), "-o", options, "start",
            timeout=timeout + 5,
        )  # fmt: skip
        try:
            wait_until(self._answers, timeout=timeout, what=f"postgres on port {self._port}")
        except AssertionError:
            self.stop()
            raise RuntimeError(f"postgres did not start; log:\n{self.log_tail()}") from None
        pid = self.pid
        assert pid is not None, "it answered, so postmaster.pid names a live process"
        self._sessions.append(pid)
        return self

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """`pg_ctl stop -m fast`: clients are disconnected, open transactions roll back, data stays."""
        if not self.running:
            return
        try:
            self._pg_ctl("-w", "-t", str(int(timeout)), "-m", "fast", "stop", timeout=timeout + 5)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            self.kill()

    def kill(self) -> None:
        """SIGKILL every process this server ever ran (postmaster and backends), and wait for them."""
        for pid in self.leftover_pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not self.leftover_pids(), timeout=10, what="postgres processes to die")

    def leftover_pids(self) -> list[int]:
        """Live processes of this server: pg_ctl starts each postmaster as leader of its own session."""
        pids: list[int] = []
        for session in self._sessions:
            found = subprocess.run(["pgrep", "-s", str(session)], capture_output=True, text=True, check=False)
            pids += [int(pid) for pid in found.stdout.split() if _alive(int(pid))]
        return pids

    def restart(self, timeout: float = STARTUP_TIMEOUT_S) -> RestartablePostgres:
        self.stop()
        return self.start(timeout=timeout)

    def __enter__(self) -> RestartablePostgres:
        return self if self.running else self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def log_tail(self) -> str:
        try:
            return self.log_path.read_bytes()[-4000:].decode(errors="replace")
        except OSError:
            return "(no log)"

    def _initdb(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        if _as_root():
            from pgserver.utils import ensure_prefix_permissions, ensure_user_exists

            entry = ensure_user_exists(SYSTEM_USER)
            assert entry is not None, f"useradd {SYSTEM_USER} failed"
            ensure_prefix_permissions(self.directory)  # the system user must reach its own directory
            shutil.chown(self.directory, entry.pw_uid, entry.pw_gid)
        self._run(
            pg_binary("initdb"), "-D", str(self.pgdata), "-U", "postgres", "--auth=trust", "--encoding=utf8",
            timeout=120,
        )  # fmt: skip
        with (self.pgdata / "pg_hba.conf").open("a") as rules:
            for address in self.also_on:
                rules.write(f"host all all {address.rsplit('.', 1)[0]}.0/24 trust\n")

    def _pg_ctl(self, *arguments: str, timeout: float) -> None:
        self._run(pg_binary("pg_ctl"), "-D", str(self.pgdata), *arguments, timeout=timeout)

    def _run(self, binary: Path, *arguments: str, timeout: float) -> None:
        # pg_ctl's postgres inherits stdout: a file, never a pipe that would hold this call open.
        with (self.directory / "commands.log").open("ab") as log:
            subprocess.run(
                [str(binary), *arguments], check=True, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, timeout=timeout, user=SYSTEM_USER if _as_root() else None,
                start_new_session=True,
            )  # fmt: skip

    def _answers(self) -> bool:
        try:
            with psycopg.connect(self.url, connect_timeout=2) as connection:
                connection.execute("SELECT 1")
        except psycopg.OperationalError:
            return False
        return True


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def _as_root() -> bool:
    return os.geteuid() == 0


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
