"""Each end of a PostgreSQL connection gives up on a vanished peer within DATABASE_DEAD_PEER_S.

What a vanished host's session costs is proven in tests/cluster (a network namespace cut); here,
that the parameters fit the budget, keep what the URL and the caller set, and that a real
server takes them on a TCP connection.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from tests.support.restartable_postgres import RestartablePostgres
from zapq.db.dead_peers import dead_peer_parameters, with_dead_peer_detection


@pytest.mark.parametrize("budget_s", [5, 6, 20, 3600])
def test_a_silent_peer_is_given_up_on_within_the_budget(budget_s: int) -> None:
    parameters = dead_peer_parameters(budget_s)
    silent_for = int(parameters["keepalives_idle"]) + int(parameters["keepalives_interval"]) * int(
        parameters["keepalives_count"]
    )
    assert silent_for <= budget_s
    assert parameters["tcp_user_timeout"] == budget_s * 1000
    assert f"-c tcp_keepalives_idle={parameters['keepalives_idle']}" in str(parameters["options"])


def test_the_urls_options_and_the_callers_are_kept_before_the_keepalives() -> None:
    url = "postgresql://zapq@db.internal/zapq?options=-c%20search_path%3Dsales"
    options = str(with_dead_peer_detection(url, 20, "-c statement_timeout=5000")["options"])
    assert options.startswith("-c search_path=sales -c statement_timeout=5000 -c tcp_keepalives_idle=12")


@pytest.fixture
def tcp_postgres(settings) -> Iterator[RestartablePostgres]:  # type: ignore[no-untyped-def]
    directory = settings.data_dir / "dead-peers-postgres" / str(time.monotonic_ns())
    server = RestartablePostgres(directory).start()
    yield server
    server.stop()
    shutil.rmtree(directory, ignore_errors=True)


def test_postgresql_keeps_the_sessions_keepalives_on_a_tcp_connection(
    tcp_postgres: RestartablePostgres,
) -> None:
    conninfo = make_conninfo(tcp_postgres.url, **with_dead_peer_detection(tcp_postgres.url, 6))
    with psycopg.connect(conninfo, autocommit=True) as connection:
        shown = {
            name: connection.execute(f"SHOW {name}").fetchone()[0]  # type: ignore[index]
            for name in (
                "tcp_keepalives_idle",
                "tcp_keepalives_interval",
                "tcp_keepalives_count",
                "tcp_user_timeout",
            )
        }
    assert shown == {
        "tcp_keepalives_idle": "2",
        "tcp_keepalives_interval": "1",
        "tcp_keepalives_count": "4",
        "tcp_user_timeout": "6000",
    }
