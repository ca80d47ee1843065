"""PostgreSQL from the `pgserver` wheel, listening on a unix socket inside the data dir only."""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

from zapq.embedded.locking import file_lock
from zapq.processes import pid_alive

logger = logging.getLogger(__name__)
logging.getLogger("pgserver").setLevel(logging.WARNING)  # it logs every initdb/pg_ctl output at INFO


@dataclass
class EmbeddedPostgres:
    url: str
    pgdata: Path
    system_user: str | None
    started_here: bool

    def stop(self) -> None:
        from pgserver._commands import pg_ctl  # type: ignore[attr-defined]

        try:
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=self.system_user)
        except Exception as error:  # already stopped is fine; anything else is worth a line
            logger.warning("stopping embedded postgres at %s: %s", self.pgdata, error)


def ensure_postgres(pgdata: Path) -> EmbeddedPostgres:
    """Reuse the server running on `pgdata`, or init and start one."""
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(pgdata.parent / "postgres.start.lock"):
        was_running = _postmaster_alive(pgdata)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on servers
            import pgserver

            # cleanup_mode=None: we decide when to stop it, not pgserver's atexit hook.
            server = pgserver.get_server(pgdata, cleanup_mode=None)
        url = server.get_uri()
        if not was_running:
            logger.info("started embedded postgres at %s", url)
        return EmbeddedPostgres(
            url=url, pgdata=pgdata, system_user=server.system_user, started_here=not was_running
        )


def running_postgres(pgdata: Path) -> EmbeddedPostgres | None:
    """The server running on `pgdata`, if one is (never starts one)."""
    return ensure_postgres(pgdata) if _postmaster_alive(pgdata) else None


def _postmaster_alive(pgdata: Path) -> bool:
    pid_file = pgdata / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return False
    return pid_alive(pid)
