"""The background-task API's share of the web process: its PostgreSQL pool, token check and streams.

Created by the app's lifespan and kept as `app.state.background`. The store's queries are
synchronous psycopg; they run in the thread pool on a pool of `BACKGROUND_DB_POOL_SIZE`
connections, apart from the admin API's two.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from psycopg import Connection
from psycopg_pool import ConnectionPool
from starlette.concurrency import run_in_threadpool

from web.background.auth import AuthNotConfigured, Principal, TokenVerifier
from web.background.streams import StreamHub
from web.database import APPLICATION_NAME, CONNECT_TIMEOUT_S, RECONNECT_TIMEOUT_S, STATEMENT_TIMEOUT_MS
from web.enqueue import AsyncEnqueuer
from zapq.db.dead_peers import with_dead_peer_detection
from zapq.settings import Settings

T = TypeVar("T")
POOL_WAIT_S = 5.0


class BackgroundService:
    def __init__(self, settings: Settings, enqueuer: AsyncEnqueuer) -> None:
        self.settings = settings
        self.enqueuer = enqueuer
        self.verifier = TokenVerifier.from_settings(settings)
        self.pool: ConnectionPool = ConnectionPool(
            settings.database_url,
            min_size=0,
            max_size=settings.background_db_pool_size,
            open=False,
            timeout=POOL_WAIT_S,
            reconnect_timeout=RECONNECT_TIMEOUT_S,
            check=ConnectionPool.check_connection,
            num_workers=1,
            name=f"{APPLICATION_NAME}-background",
            kwargs={
                "autocommit": True,
                "connect_timeout": CONNECT_TIMEOUT_S,
                "application_name": APPLICATION_NAME,
                **with_dead_peer_detection(
                    settings.database_url,
                    settings.database_dead_peer_s,
                    f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
                ),
            },
        )
        self.pool.open(wait=False)
        self.streams = StreamHub(
            self.run,
            poll_interval_s=settings.background_stream_poll_s,
            max_clients=settings.background_stream_max_clients,
        )

    def authenticate(self, authorization: str | None) -> Principal:
        if self.verifier is None:
            raise AuthNotConfigured
        return self.verifier.verify(authorization)

    async def run(self, query: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`query(connection, *args, **kwargs)` on a pooled connection, off the event loop."""
        return await run_in_threadpool(self._with_connection, query, args, kwargs)

    def _with_connection(self, query: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
        with self.pool.connection() as connection:
            return query(connection, *args, **kwargs)

    async def close(self) -> None:
        await self.streams.close()
        await run_in_threadpool(self.pool.close)


Query = Callable[[Connection], Any]
