"""Process start-up shared by web, worker and scheduler: settings, servers, schema."""

from __future__ import annotations

import logging
import os
from functools import lru_cache

from zapq.db.connection import connect
from zapq.db.migrate import apply_migrations
from zapq.embedded import ServiceUrls, export_service_urls, resolve_service_urls
from zapq.log_limits import limit_repeated_lines
from zapq.processes import pid_alive
from zapq.settings import Settings, get_settings

logger = logging.getLogger(__name__)

_services: list[ServiceUrls] = []


@lru_cache(maxsize=1)
def boot() -> Settings:
    """Resolve Redis/PostgreSQL (embedded when unset), apply migrations, return final settings.

    Runs once per process. The resolved URLs are exported so that child processes
    and later `get_settings()` calls see the same servers.
    """
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    urls = resolve_service_urls(settings)
    _services.append(urls)
    export_service_urls(urls)
    get_settings.cache_clear()
    settings = get_settings()
    with connect(settings.database_url) as connection:
        apply_migrations(connection)
    limit_repeated_lines(limit=settings.log_repeat_limit, window_s=settings.log_repeat_window_s)
    return settings


def booted_services() -> ServiceUrls:
    """The servers `boot()` resolved; `stop_started()` on it stops the ones this process started."""
    boot()
    return _services[0]


def remove_stale_metric_files(directory: os.PathLike[str] | str) -> None:
    """Delete prometheus multiprocess files of processes that are gone.

    Counters of a dead worker would otherwise be summed into the totals forever.
    Files of live processes are left alone, so this is safe while others run.
    """
    from pathlib import Path

    for path in Path(directory).glob("*.db"):
        pid_text = path.stem.rsplit("_", 1)[-1]
        if pid_text.isdigit() and not pid_alive(int(pid_text)):
            path.unlink(missing_ok=True)
