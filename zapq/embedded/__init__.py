"""Real Redis and PostgreSQL servers started from wheels, for machines that have neither.

Used only when `REDIS_URL` / `DATABASE_URL` are unset. A server already running
under the data dir is reused; a process that starts one may stop it again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from zapq.embedded.postgres_server import EmbeddedPostgres, ensure_postgres
from zapq.embedded.redis_server import EmbeddedRedis, ensure_redis
from zapq.settings import Settings


@dataclass
class ServiceUrls:
    redis_url: str
    database_url: str
    embedded: list[EmbeddedRedis | EmbeddedPostgres] = field(default_factory=list)

    def stop_started(self) -> None:
        """Stop the embedded servers this process started (not those it merely reused)."""
        for server in reversed(self.embedded):
            if server.started_here:
                server.stop()


def resolve_service_urls(settings: Settings) -> ServiceUrls:
    """Return the URLs to use, starting embedded servers for the unset ones."""
    urls = ServiceUrls(redis_url=settings.redis_url, database_url=settings.database_url)
    try:
        if not urls.redis_url:
            redis_server = ensure_redis(settings.data_dir / "redis")
            urls.redis_url = redis_server.url
            urls.embedded.append(redis_server)
        if not urls.database_url:
            postgres = ensure_postgres(settings.data_dir / "postgres")
            urls.database_url = postgres.url
            urls.embedded.append(postgres)
    except BaseException:
        urls.stop_started()  # a Redis started for a PostgreSQL that failed (or a Ctrl-C) is of no use
        raise
    return urls


def export_service_urls(urls: ServiceUrls) -> None:
    """Put the resolved URLs in the environment so child processes use the same servers."""
    os.environ["REDIS_URL"] = urls.redis_url
    os.environ["DATABASE_URL"] = urls.database_url
