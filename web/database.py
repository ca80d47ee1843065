"""The web's few PostgreSQL connections, shared by readiness and the admin API.

A pool of at most `POOL_MAX_SIZE`, whatever the request rate: the web must never be the reason
PostgreSQL refuses clients. It holds no connection until one is needed and opens without
waiting, so the web starts (and answers 503 where it needs PostgreSQL) while PostgreSQL is down.
It is psycopg's synchronous pool because the queries are the conversation store's, which take
a synchronous connection: callers use it from the thread pool.
"""

from __future__ import annotations

from psycopg_pool import ConnectionPool

from zapq.db.dead_peers import with_dead_peer_detection

POOL_MAX_SIZE = 2
APPLICATION_NAME = "zapq-web"  # how the web's connections show in pg_stat_activity
CONNECT_TIMEOUT_S = 2
WAIT_TIMEOUT_S = 2.0
STATEMENT_TIMEOUT_MS = 5_000
# A failed connection attempt is retried with backoff for this long, then given up until the
# next request: short, so that the web notices a recovered PostgreSQL within seconds.
RECONNECT_TIMEOUT_S = 5.0


def open_pool(database_url: str, dead_peer_s: int) -> ConnectionPool:
    pool: ConnectionPool = ConnectionPool(
        database_url,
        min_size=0,
        max_size=POOL_MAX_SIZE,
        open=False,
        timeout=WAIT_TIMEOUT_S,
        reconnect_timeout=RECONNECT_TIMEOUT_S,
        check=ConnectionPool.check_connection,
        num_workers=1,
        name=APPLICATION_NAME,
        kwargs={
            "autocommit": True,
            "connect_timeout": CONNECT_TIMEOUT_S,
            "application_name": APPLICATION_NAME,
            **with_dead_peer_detection(
                database_url, dead_peer_s, f"-c statement_timeout={STATEMENT_TIMEOUT_MS}"
            ),
        },
    )
    pool.open(wait=False)
    return pool
