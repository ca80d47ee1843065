"""Flow control: decisions per actor, the "why" of a key, and releasing a key with confirmation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import redis
from playwright.sync_api import expect

from tests.support.console_actors import charge, runs_key
from tests.web.console.conftest import ConsolePage
from zapq.keyspace import flow_keys
from zapq.settings import get_settings


def runs(client: redis.Redis, order_id: str) -> int:
    return int(client.get(runs_key("charge", order_id)) or 0)


def test_the_why_lookup_shows_who_did_a_key_and_releasing_it_lets_it_run_again(
    console: ConsolePage, console_worker: Any, redis_client: redis.Redis, wait_until: Callable[..., None]
) -> None:
    message = charge.send("A-1")
    wait_until(lambda: runs(redis_client, "A-1") == 1, timeout=20, what="the first charge")
    charge.send("A-1")  # a duplicate: skipped

    console.login()
    console.goto("flow")
    duplicates = console.page.locator("[data-actor='charge'] [data-outcome='duplicate_skipped']")
    expect(duplicates).to_have_text("duplicate skipped 1", timeout=10_000)
    console.page.select_option("#why-actor", "charge")
    console.page.select_option("#why-kind", "idempotency")
    console.page.fill("#why-key", "A-1")
    console.page.click("#why-submit")
    expect(console.page.locator("#why-state")).to_have_text("done")
    assert f"Done by message {message.message_id}" in console.page.inner_text("#why-summary")
    console.screenshot("flow")

    console.page.click("#why-release")
    console.accept_next_confirm()
    expect(console.page.locator("#why-state")).to_have_text("absent")
    assert "null" not in console.page.inner_text("#flow-record")
    charge.send("A-1")
    wait_until(lambda: runs(redis_client, "A-1") == 2, timeout=20, what="the charge after the release")
    assert console.console_errors == []
    console.screenshot("flow-phone", phone=True)


def test_a_running_key_shows_its_lease_and_hostile_keys_never_shape_a_redis_key(
    console_api: httpx.Client, redis_client: redis.Redis
) -> None:
    keys = flow_keys(get_settings().redis_namespace)
    hostile = "B-2:*{x}\n" + "z" * 300
    guard = keys.guard("charge", "idem", hostile)
    assert guard.startswith(keys.namespace + ":guard:charge:idem:#")  # hashed by the middleware's keyspace
    redis_client.set(guard, "R|rid-1:abc|4102444800000|17|msg-9", px=60_000)

    found = console_api.get("/api/console/flow/lookup", params={"actor": "charge", "kind": "idempotency",
                                                               "key": hostile}).json()  # fmt: skip
    assert found["state"] == "running" and found["message_id"] == "msg-9"
    assert found["lease_until_ms"] == 4102444800000 and found["fence"] == 17
    assert "holds the lease until 2100-01-01 00:00:00 UTC" in found["summary"]

    body = {"actor": "charge", "kind": "idempotency", "key": hostile}
    unconfirmed = console_api.post("/api/console/flow/release", json=body)
    assert unconfirmed.status_code == 400 and unconfirmed.json()["error"] == "confirmation_required"
    released = console_api.post("/api/console/flow/release", json={**body, "confirm": True})
    assert released.json()["held"].startswith("R|rid-1") and not redis_client.exists(guard)
    assert console_api.post("/api/console/flow/release", json={**body, "confirm": True}).status_code == 404
    log = console_api.get("/api/console/actions").json()["actions"]
    logged = [(a["action"], a["actor"], a["target"]) for a in log]
    assert logged == [("flow.release", "admin", "charge idempotency")]


def test_lookups_refuse_unknown_actors_kinds_and_oversized_keys(console_api: httpx.Client) -> None:
    def error(**params: str) -> tuple[int, str]:
        answer = console_api.get("/api/console/flow/lookup", params=params)
        return answer.status_code, answer.json()["error"]

    assert error(actor="nobody", kind="idempotency", key="k") == (400, "unknown_actor")
    assert error(actor="charge", kind="../../x", key="k") == (400, "unknown_kind")
    assert error(actor="charge", kind="throttle", key="") == (400, "invalid_parameter")
    assert error(actor="charge", kind="throttle", key="k" * 1001) == (400, "invalid_parameter")
    window = console_api.post("/api/console/flow/release", json={"confirm": True, "actor": "charge",
                                                                 "kind": "debounce", "key": "k"})  # fmt: skip
    assert window.status_code == 400 and window.json()["error"] == "not_releasable"
    extra = console_api.post("/api/console/flow/release", json={"confirm": True, "surprise": 1})
    assert extra.status_code == 400 and extra.json()["error"] == "invalid_body"
    overview = console_api.get("/api/console/flow").json()
    charge_row = next(row for row in overview["actors"] if row["actor"] == "charge")
    assert charge_row["features"]["idempotency_key"] is True and charge_row["queue"] == "low_priority"
