from __future__ import annotations

from pathlib import Path

import redis

from zapq.embedded.redis_server import ensure_redis


def test_embedded_redis_persists_with_aof_on_loopback_and_is_reused(tmp_path: Path):
    first = ensure_redis(tmp_path / "redis")
    try:
        again = ensure_redis(tmp_path / "redis")
        client = redis.Redis.from_url(first.url)

        assert first.started_here and not again.started_here
        assert again.url == first.url
        assert client.config_get("appendonly") == {"appendonly": "yes"}
        assert client.config_get("bind")["bind"] == "127.0.0.1"
        assert not first.url.endswith(":6379/0")
        client.set("survives", "restart")
        client.close()
    finally:
        first.stop()

    restarted = ensure_redis(tmp_path / "redis")
    try:
        assert restarted.started_here
        assert redis.Redis.from_url(restarted.url).get("survives") == b"restart"
    finally:
        restarted.stop()
