"""RestartableRedis keeps every answered write across a SIGKILL, on the same port."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from tests.support.restartable_redis import RestartableRedis


def test_a_write_answered_before_a_kill_is_there_after_the_restart(
    restartable_redis: RestartableRedis,
) -> None:
    client = redis.Redis.from_url(restartable_redis.url)
    client.set("survivor", "yes")
    killed_pid, port = restartable_redis.pid, restartable_redis.port

    restartable_redis.kill()
    with pytest.raises(redis.ConnectionError):
        client.ping()
    restartable_redis.restart()

    assert restartable_redis.pid != killed_pid
    assert restartable_redis.port == port
    assert client.get("survivor") == b"yes"
    client.close()


def test_the_context_manager_stops_the_server(tmp_path: Path) -> None:
    with RestartableRedis(tmp_path) as server:
        assert redis.Redis.from_url(server.url).ping()
    assert not server.running
