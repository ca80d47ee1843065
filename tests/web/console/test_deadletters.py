"""Dead letters: inspect one, requeue it and see a worker process it; requeue all; delete."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import redis

from tests.support.console_actors import flag_key, flaky, runs_key
from tests.web.console.conftest import ConsolePage, console_jwt
from zapq.keyspace import dead_letter_key
from zapq.settings import get_settings


def dead_count(client: redis.Redis, queue: str = "default") -> int:
    return int(client.zcard(dead_letter_key(get_settings().redis_namespace, queue)))


def test_a_dead_letter_requeued_from_the_console_is_processed(
    console: ConsolePage, console_worker: Any, redis_client: redis.Redis, wait_until: Callable[..., None]
) -> None:
    flaky.send("order-7")
    wait_until(lambda: dead_count(redis_client) == 1, timeout=20, what="the message to die")

    console.login()
    console.goto("deadletters", "queue=default")
    row = console.page.wait_for_selector("#dead-rows tr[data-id]")
    assert "flaky" in row.inner_text() and "FlagNotSet" in row.inner_text()
    console.page.click("#dead-rows tr[data-id] >> text=Inspect")
    traceback = console.page.wait_for_selector("#dead-traceback")
    assert "the flag of order-7 is not set" in traceback.inner_text()
    assert '"order-7"' in console.page.inner_text("#dead-detail")
    console.screenshot("deadletters")

    redis_client.set(flag_key("order-7"), 1)
    console.page.click("#dead-rows tr[data-id] button.requeue")
    console.accept_next_confirm()
    console.page.wait_for_selector("#dead-rows td.empty")
    wait_until(lambda: redis_client.get(runs_key("flaky", "order-7")) == b"1", timeout=20, what="the rerun")
    assert dead_count(redis_client) == 0
    console.page.wait_for_selector("#action-rows >> text=dead_letter.requeue")
    assert "admin" in console.page.inner_text("#action-rows")
    assert console.console_errors == []
    console.screenshot("deadletters-phone", phone=True)


def test_cancelling_the_confirmation_changes_nothing(
    console: ConsolePage, console_worker: Any, redis_client: redis.Redis, wait_until: Callable[..., None]
) -> None:
    flaky.send("kept")
    wait_until(lambda: dead_count(redis_client) == 1, timeout=20, what="the message to die")
    console.login()
    console.goto("deadletters", "queue=default")
    console.page.click("#dead-rows tr[data-id] button.delete")
    console.page.wait_for_selector("#confirm-dialog[open]")
    console.page.click("#confirm-cancel")
    console.page.wait_for_timeout(1500)
    assert dead_count(redis_client) == 1


def test_requeue_all_and_delete_through_the_api(
    console_api: httpx.Client, console_worker: Any, redis_client: redis.Redis, wait_until: Callable[..., None]
) -> None:
    for key in ("a", "b", "c"):
        flaky.send(key)
    wait_until(lambda: dead_count(redis_client) == 3, timeout=20, what="three dead letters")
    listed = console_api.get("/api/console/deadletters").json()
    assert listed["queue"] == "default" and listed["counts"]["default"] == 3
    ids = [letter["id"] for letter in listed["dead_letters"]]
    doomed = ids[0]

    refused = console_api.post(f"/api/console/deadletters/default/{doomed}/delete", json={})
    assert refused.status_code == 400 and refused.json()["error"] == "confirmation_required"
    deleted = console_api.post(f"/api/console/deadletters/default/{doomed}/delete", json={"confirm": True})
    assert deleted.json() == {"deleted": 1, "queue": "default", "id": doomed}
    again = console_api.post(f"/api/console/deadletters/default/{doomed}/delete", json={"confirm": True})
    assert again.status_code == 404 and again.json()["error"] == "dead_letter_not_found"

    for key in ("a", "b", "c"):
        redis_client.set(flag_key(key), 1)
    requeued = console_api.post("/api/console/deadletters/default/requeue-all", json={"confirm": True})
    assert requeued.json() == {"requeued": 2, "left": 0, "queue": "default"}
    wait_until(
        lambda: sum(int(redis_client.get(runs_key("flaky", key)) or 0) for key in "abc") == 2, timeout=20
    )
    assert dead_count(redis_client) == 0
    log = console_api.get("/api/console/actions").json()["actions"]
    assert [(a["action"], a["actor"]) for a in log] == [
        ("dead_letter.requeue_all", "admin"), ("dead_letter.delete", "admin")
    ]  # fmt: skip
    assert log[0]["detail"] == {"requeued": 2, "left": 0}


def test_hostile_ids_and_queues_get_a_400_naming_what_is_wrong(console_api: httpx.Client) -> None:
    cases = {
        "/api/console/deadletters/default/not-a-uuid": "invalid_message_id",
        "/api/console/deadletters/default/8c6fb5e4-8b59-4b1c-9d1f-2f3c2b8c1a1%2A": "invalid_message_id",
        "/api/console/deadletters/nope/8c6fb5e4-8b59-4b1c-9d1f-2f3c2b8c1a11": "unknown_queue",
        "/api/console/deadletters/default:x/8c6fb5e4-8b59-4b1c-9d1f-2f3c2b8c1a11": "unknown_queue",
        "/api/console/deadletters?queue=*": "unknown_queue",
        "/api/console/deadletters?limit=100000": "invalid_parameter",
    }
    for path, error in cases.items():
        answer = console_api.get(path)
        assert (answer.status_code, answer.json()["error"]) == (400, error), path
    missing = console_api.get("/api/console/deadletters/default/8c6fb5e4-8b59-4b1c-9d1f-2f3c2b8c1a11")
    assert missing.status_code == 404 and missing.json()["error"] == "dead_letter_not_found"
    assert console_api.get("/api/console/deadletters/default/..%2F..%2Fetc").status_code == 404  # no route
    requeue_all = "/api/console/deadletters/default/requeue-all"
    not_json = console_api.post(requeue_all, content=b"[1,", headers={"Content-Type": "application/json"})
    assert not_json.status_code == 400 and not_json.json()["error"] == "invalid_body"
    agent = {"Authorization": f"Bearer {console_jwt('agent')}"}
    forbidden = console_api.post(requeue_all, json={"confirm": True}, headers=agent)
    assert forbidden.status_code == 403
