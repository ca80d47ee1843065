"""What counts as a dependency outage, on errors raised by the real clients."""

from __future__ import annotations

import socket

import psycopg
import pytest
import redis

from zapq.outages import NETWORK, POSTGRESQL, REDIS, dependency_down

pytestmark = pytest.mark.processes


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def raised_by(call) -> BaseException:  # type: ignore[no-untyped-def]
    with pytest.raises(Exception) as caught:
        call()
    return caught.value


def test_a_refused_postgresql_connection_is_a_postgresql_outage() -> None:
    url = f"postgresql://zapq@127.0.0.1:{closed_port()}/zapq"
    error = raised_by(lambda: psycopg.connect(url, connect_timeout=2))
    assert dependency_down(error) == POSTGRESQL


def test_an_administrator_shutdown_of_the_session_is_a_postgresql_outage(settings) -> None:  # type: ignore[no-untyped-def]
    with (
        psycopg.connect(settings.database_url, autocommit=True) as victim,
        psycopg.connect(settings.database_url, autocommit=True) as admin,
    ):
        pid = victim.info.backend_pid
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        error = raised_by(lambda: victim.execute("SELECT 1"))
    assert dependency_down(error) == POSTGRESQL


def test_data_errors_are_the_messages_own(db: psycopg.Connection) -> None:
    nul = raised_by(lambda: db.execute("SELECT %s::text", ("bad\x00value",)))
    out_of_range = raised_by(lambda: db.execute("SELECT %s::integer", (2**40,)))
    index_row_too_big = raised_by(
        lambda: db.execute(
            "CREATE TEMP TABLE wide (v text PRIMARY KEY);"
            " INSERT INTO wide VALUES (repeat(md5(random()::text), 10000))"
        )
    )
    assert [dependency_down(e) for e in (nul, out_of_range, index_row_too_big)] == [None, None, None]


def test_an_unreachable_redis_is_a_redis_outage() -> None:
    client = redis.Redis(port=closed_port(), socket_connect_timeout=1)
    assert dependency_down(raised_by(client.ping)) == REDIS


def test_a_reset_connection_is_a_network_outage_but_a_timeout_is_not() -> None:
    assert dependency_down(ConnectionResetError("reset by peer")) == NETWORK
    assert dependency_down(TimeoutError("the call took too long")) is None


def test_an_outage_wrapped_in_another_error_is_still_an_outage() -> None:
    try:
        try:
            raise ConnectionRefusedError("refused")
        except ConnectionRefusedError as error:
            raise RuntimeError("could not store the event") from error
    except RuntimeError as wrapped:
        assert dependency_down(wrapped) == NETWORK


def test_ordinary_errors_are_not_outages() -> None:
    assert dependency_down(ValueError("bad input")) is None
    assert dependency_down(KeyError("wa_id")) is None


def test_configuration_a_worker_cannot_run_with_is_waited_for_not_blamed_on_the_message() -> None:
    from zapq.outages import CONFIGURATION
    from zapq.settings import SettingsError

    assert dependency_down(SettingsError("missing required environment variable WHATSAPP_ACCESS_TOKEN")) == (
        CONFIGURATION
    )
