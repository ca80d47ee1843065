"""Which errors say "a dependency is down" rather than "this message is bad".

A message that failed because PostgreSQL or Redis could not be reached is not at fault: it
waits for the dependency (see `middleware.outage_retries`) instead of spending the retry
budget meant for bad messages and ending in the dead-letter queue. So is configuration that
a worker cannot run with (a missing access token, an unknown engine): the message waits for
the operator to fix it and restart the worker, then is answered. Everything else, including
PostgreSQL's data errors (a NUL byte, a value out of range, an index row too big), is the
message's own problem.
"""

from __future__ import annotations

import psycopg
import redis

from zapq.settings import SettingsError

POSTGRESQL = "postgresql"
REDIS = "redis"
NETWORK = "network"
CRM = "crm"
CONFIGURATION = "configuration"

#: The names `dependency_down` returns: a fixed set, so they may label metrics.
DEPENDENCIES = (POSTGRESQL, REDIS, NETWORK, CRM, CONFIGURATION)


class DependencyUnavailable(Exception):
    """Raised by our own clients when the service they call is down (no answer, 5xx, 429)."""

    dependency: str = NETWORK


# SQLSTATE classes of a server that is going away or cannot take a connection: 08 connection
# exception, 57P operator intervention (admin shutdown, crash shutdown, cannot connect now),
# 53 insufficient resources (too many connections, disk full, out of memory).
_POSTGRES_OUTAGE_STATES = ("08", "57P", "53")
_CHAIN_DEPTH = 8


def dependency_down(error: BaseException) -> str | None:
    """The dependency `error` (or what caused it) says is unreachable, or None."""
    seen = 0
    current: BaseException | None = error
    while current is not None and seen < _CHAIN_DEPTH:
        name = _direct(current)
        if name is not None:
            return name
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
        seen += 1
    return None


def _direct(error: BaseException) -> str | None:
    if isinstance(error, SettingsError):  # fixed by an operator and a restart, not by retrying the message
        return CONFIGURATION
    if isinstance(error, DependencyUnavailable):
        return error.dependency if error.dependency in DEPENDENCIES else NETWORK
    if isinstance(error, psycopg.OperationalError):
        state = error.sqlstate
        # No SQLSTATE: the connection itself failed (refused, reset, closed by the server).
        if state is None or state.startswith(_POSTGRES_OUTAGE_STATES):
            return POSTGRESQL
        return None
    if isinstance(error, redis.ConnectionError | redis.TimeoutError | redis.ReadOnlyError):
        return REDIS
    # OSError's refused, reset, aborted, broken pipe. Not TimeoutError: a message that makes
    # some call hang would then retry forever instead of failing.
    if isinstance(error, ConnectionError):
        return NETWORK
    return None
