"""One autocommit connection per thread, reopened when the server dropped it.

Dramatiq runs each actor on a worker thread; a connection per thread needs no pool
and no locking, and survives a PostgreSQL restart at the cost of one failed call.
"""

from __future__ import annotations

import threading

import psycopg
from psycopg.conninfo import make_conninfo

from zapq.db.dead_peers import with_dead_peer_detection
from zapq.settings import get_settings

_local = threading.local()


def connect(database_url: str | None = None) -> psycopg.Connection:
    settings = get_settings()
    url = database_url or settings.database_url
    if not url:
        raise RuntimeError("DATABASE_URL is not set; the embedded PostgreSQL should have exported it")
    conninfo = make_conninfo(url, **with_dead_peer_detection(url, settings.database_dead_peer_s))
    return psycopg.connect(conninfo, autocommit=True, connect_timeout=5)


def thread_connection() -> psycopg.Connection:
    """This thread's connection; a new one if there is none or the last one broke."""
    connection: psycopg.Connection | None = getattr(_local, "connection", None)
    if connection is None or connection.closed or connection.broken:
        connection = connect()
        _local.connection = connection
    return connection


def close_thread_connection() -> None:
    connection: psycopg.Connection | None = getattr(_local, "connection", None)
    if connection is not None:
        connection.close()
        _local.connection = None
