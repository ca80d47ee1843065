"""A dependency outage never spends a message's retries; a bad message still does."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from typing import Any

import dramatiq
import psycopg
import pytest
import redis

from middleware.outage_retries import OUTAGE_RETRIES_OPTION


def refused_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"postgresql://zapq@127.0.0.1:{probe.getsockname()[1]}/zapq"


def dead_letters(redis_client: redis.Redis) -> int:
    return int(redis_client.zcard("dramatiq:default.XQ"))


def test_a_message_whose_database_is_down_waits_past_every_retry_and_runs_once_it_is_back(
    declare: Callable[..., Any], worker: dramatiq.Worker, redis_client: redis.Redis, settings: Any,
    wait_until: Callable[..., None], caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    redis_client.set("outage:url", refused_url())

    @declare(max_retries=1)
    def store(token: str) -> None:
        attempt = redis_client.incr("outage:attempts")
        if attempt == 5:  # PostgreSQL comes back while the message waits
            redis_client.set("outage:url", settings.database_url)
        with psycopg.connect(redis_client.get("outage:url").decode(), connect_timeout=2) as connection:
            connection.execute("SELECT 1")
        redis_client.rpush("outage:done", token)

    caplog.set_level(logging.INFO)
    store.send("burst-1")
    wait_until(lambda: redis_client.llen("outage:done") == 1, timeout=30)
    worker.join()

    assert int(redis_client.get("outage:attempts")) > 1 + 1 + 1  # more than max_retries=1 allows
    assert redis_client.lrange("outage:done", 0, -1) == [b"burst-1"]
    assert dead_letters(redis_client) == 0
    lines = [record.getMessage() for record in caplog.records]
    assert sum("postgresql is unavailable" in line for line in lines) == 1
    assert sum("postgresql is available again" in line for line in lines) == 1
    tracebacks = [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info]
    assert not tracebacks, "no traceback per attempt"


def test_an_outage_retry_keeps_the_message_s_own_retry_count(
    declare: Callable[..., Any], worker: dramatiq.Worker, redis_client: redis.Redis,
    wait_until: Callable[..., None],
) -> None:  # fmt: skip
    seen: list[dict[str, Any]] = []

    @declare(max_retries=5)
    def flaky() -> None:
        from dramatiq.middleware import CurrentMessage

        message = CurrentMessage.get_current_message()
        assert message is not None
        seen.append(dict(message.options))
        if len(seen) <= 2:
            raise ConnectionResetError("connection reset by peer")
        if len(seen) == 3:
            raise ValueError("a bad value")

    flaky.send()
    wait_until(lambda: len(seen) == 4, timeout=20)
    worker.join()

    assert [options.get("retries", 0) for options in seen] == [0, 0, 0, 1]
    assert [options.get(OUTAGE_RETRIES_OPTION, 0) for options in seen] == [0, 1, 2, 2]


def test_a_message_that_is_bad_in_itself_still_dead_letters_after_its_retries(
    declare: Callable[..., Any], worker: dramatiq.Worker, redis_client: redis.Redis, db: psycopg.Connection,
    wait_until: Callable[..., None],
) -> None:  # fmt: skip
    @declare(max_retries=1, min_backoff=50)
    def store_text(text: str) -> None:
        redis_client.incr("bad:attempts")
        db.execute("SELECT %s::text", (text,))

    store_text.send("a NUL \x00 in the text")
    wait_until(lambda: dead_letters(redis_client) == 1, timeout=20)
    assert int(redis_client.get("bad:attempts")) == 2
