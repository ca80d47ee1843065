"""Process start-up shared by web, worker and scheduler: settings, servers, schema."""

from __future__ import annotations

import logging
import os
from functools import lru_cache

import psycopg

from zapq.db.connection import connect
from zapq.db.migrate import apply_migrations
from zapq.embedded import ServiceUrls, export_service_urls, resolve_service_urls
from zapq.logging_setup import configure_logging
from zapq.processes import pid_alive
from zapq.settings import Settings, get_settings
from zapq.startup_checks import (
    ServiceUnreachable,
    check_postgres_answers,
    check_redis_answers,
    check_url_forms,
)

logger = logging.getLogger(__name__)

_services: list[ServiceUrls] = []


@lru_cache(maxsize=1)
def resolve_services() -> Settings:
    """Resolve Redis/PostgreSQL (embedded when unset, started if need be) and return final settings.

    Runs once per process. The resolved URLs are exported so that child processes and later
    `get_settings()` calls see the same servers. A URL that does not parse, or a Redis that does
    not answer, is a `SettingsError` raised before any server is started.
    """
    settings = get_settings()
    check_url_forms(settings)
    if settings.redis_url:
        check_redis_answers(settings.redis_url)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    urls = resolve_service_urls(settings)
    _services.append(urls)
    export_service_urls(urls)
    get_settings.cache_clear()
    settings = get_settings()
    configure_logging(settings)
    return settings


@lru_cache(maxsize=1)
def boot() -> Settings:
    """`resolve_services`, then the schema: what a worker, the scheduler and `make run` need first.

    A PostgreSQL that does not answer is a `ServiceUnreachable` naming DATABASE_URL, found before
    any embedded server is started. On a later failure the caller should `stop_started_services()`:
    nothing it started is of use.
    """
    settings = get_settings()
    check_url_forms(settings)
    if settings.database_url:  # before an embedded Redis is started for nothing
        check_postgres_answers(settings.database_url)
    settings = resolve_services()
    try:
        with connect(settings.database_url) as connection:
            apply_migrations(connection)
    except psycopg.OperationalError as error:
        raise ServiceUnreachable("DATABASE_URL", settings.database_url, error) from None
    return settings


def boot_web() -> Settings:
    """`boot`, except that PostgreSQL being down does not keep the web from starting.

    The web takes webhooks into Redis without PostgreSQL, and answers 503 where it needs it;
    the workers bring the schema up to date when they start.
    """
    try:
        return boot()
    except ServiceUnreachable as error:
        if error.variable != "DATABASE_URL":
            raise
        logger.warning("PostgreSQL is unreachable at start (%s): the schema was not checked", error)
        return resolve_services()


def stop_started_services() -> None:
    """Stop the embedded servers this process started: for a start that failed after starting them."""
    for urls in _services:
        urls.stop_started()
    _services.clear()
    boot.cache_clear()
    resolve_services.cache_clear()


def booted() -> bool:
    """Whether this process resolved its servers (and so may have started some)."""
    return resolve_services.cache_info().currsize > 0


def booted_services() -> ServiceUrls:
    """The servers this process resolved; `stop_started()` on it stops the ones it started."""
    resolve_services()
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
