"""The web's /metrics says whether worker processes live and how full Redis is, read at each scrape."""

from __future__ import annotations

import math
from typing import Any

import redis
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient


def scraped(web_client: TestClient) -> dict[str, float]:
    families = text_string_to_metric_families(web_client.get("/metrics").text)
    return {sample.name: sample.value for family in families for sample in family.samples}


def test_a_worker_process_counts_as_alive_while_it_runs_and_not_once_it_stopped(
    web_client: TestClient, worker_process: Any, wait_until: Any
) -> None:
    before = scraped(web_client)
    worker = worker_process("actors", processes=2, threads=1)
    wait_until(lambda: scraped(web_client)["zapq_worker_processes_alive"] == 2, timeout=10, what="2 alive")
    assert scraped(web_client)["zapq_worker_heartbeat_age_seconds"] < 2
    worker.stop()

    wait_until(lambda: scraped(web_client)["zapq_worker_processes_alive"] == 0, timeout=10, what="none alive")
    assert before["zapq_worker_processes_alive"] == 0
    assert math.isinf(before["zapq_worker_heartbeat_age_seconds"])


def test_redis_memory_is_its_used_memory_and_its_maxmemory(
    web_client: TestClient, redis_client: redis.Redis
) -> None:
    values = scraped(web_client)

    assert values["zapq_redis_memory_used_bytes"] > 0
    assert values["zapq_redis_memory_max_bytes"] == int(redis_client.config_get("maxmemory")["maxmemory"])
