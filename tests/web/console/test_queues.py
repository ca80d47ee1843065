"""The queues page: live depth per queue, workers alive, and what the workers processed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import redis
from playwright.sync_api import expect

from tests.support.console_actors import flag_key, flaky
from tests.web.console.conftest import ConsolePage


def depth(console: ConsolePage, queue: str, name: str) -> str:
    return str(console.page.inner_text(f"[data-queue='{queue}'] [data-depth='{name}']"))


def test_the_queues_page_follows_depth_and_throughput_live(
    console: ConsolePage, worker_process: Callable[..., Any], redis_client: redis.Redis,
    wait_until: Callable[..., None],
) -> None:  # fmt: skip
    console.login()
    console.goto("queues")
    console.page.wait_for_selector("[data-queue='default']")
    assert depth(console, "default", "ready") == "0"
    assert console.page.inner_text("[data-stat='workers']") == "0"

    for index in range(3):
        redis_client.set(flag_key(f"q-{index}"), 1)
        flaky.send(f"q-{index}")
    # The page polls every second: the new depth shows within the 2 s (+1 s: loaded machines).
    ready = console.page.locator("[data-queue='default'] [data-depth='ready']")
    expect(ready).to_have_text("3", timeout=3000)
    console.screenshot("queues")

    worker_process("tests.support.console_actors", threads=2)
    stat = console.page.inner_text
    wait_until(lambda: depth(console, "default", "ready") == "0", timeout=20, what="the worker to drain it")
    wait_until(lambda: stat("[data-stat='workers']") != "0", timeout=10, what="a live worker")
    wait_until(lambda: stat("[data-stat='done']") == "3", timeout=10, what="3 processed")
    assert console.console_errors == []
    console.screenshot("queues-phone", phone=True)


def test_failures_and_dead_letters_are_counted_per_queue(
    console_api: httpx.Client, console_worker: Any, redis_client: redis.Redis, wait_until: Callable[..., None]
) -> None:
    redis_client.set(flag_key("ok"), 1)
    flaky.send("ok")
    flaky.send("not-ok")

    def default() -> dict[str, Any]:
        body = console_api.get("/api/console/queues").json()
        return next(queue for queue in body["queues"] if queue["name"] == "default")

    wait_until(lambda: sum(default()["failed"]) == 1 and sum(default()["done"]) == 1, timeout=20)
    queue = default()
    assert sum(queue["dead_lettered"]) == 1 and queue["dead"] == 1
    assert queue["failure_rate"] == 0.5
    body = console_api.get("/api/console/queues").json()
    assert body["workers"]["alive"] >= 1
    assert len(body["minutes"]) == 15 == len(queue["done"])
