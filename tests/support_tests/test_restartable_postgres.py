"""RestartablePostgres keeps committed rows and its URL across a stop, and refuses clients while stopped."""

from __future__ import annotations

import psycopg
import pytest

from tests.support.restartable_postgres import RestartablePostgres

pytestmark = pytest.mark.processes


def test_a_row_committed_before_a_stop_is_there_after_the_start_at_the_same_url(
    restartable_postgres: RestartablePostgres,
) -> None:
    url, first_pid = restartable_postgres.url, restartable_postgres.pid
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("CREATE TABLE survivors (name text)")
        connection.execute("INSERT INTO survivors VALUES ('yes')")

    restartable_postgres.stop()
    assert not restartable_postgres.running
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=2)
    restartable_postgres.start()

    assert restartable_postgres.url == url
    assert restartable_postgres.pid != first_pid
    with psycopg.connect(url) as connection:
        assert connection.execute("SELECT name FROM survivors").fetchall() == [("yes",)]


def test_a_stop_breaks_an_open_connection_and_a_new_one_works_after_the_start(
    restartable_postgres: RestartablePostgres,
) -> None:
    connection = psycopg.connect(restartable_postgres.url, autocommit=True)

    restartable_postgres.stop()
    with pytest.raises(psycopg.OperationalError):
        connection.execute("SELECT 1")
    restartable_postgres.start()

    assert connection.broken
    with psycopg.connect(restartable_postgres.url) as fresh:
        assert fresh.execute("SELECT 1").fetchone() == (1,)
    connection.close()


def test_the_context_manager_stops_the_server_and_leaves_no_process(
    restartable_postgres: RestartablePostgres,
) -> None:
    restartable_postgres.stop()
    with restartable_postgres as server:
        assert server.running
    assert not server.running
    assert server.leftover_pids() == []
