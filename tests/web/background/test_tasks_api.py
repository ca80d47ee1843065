"""Submit, read, list, log and cancel tasks over HTTP, with a real web app, worker, PostgreSQL and Redis."""

from __future__ import annotations

import httpx

from tests.web.background.conftest import ORG_B, bearer, wait_for_status


def test_a_submitted_task_is_accepted_with_its_location_and_runs_to_completion(
    api: httpx.Client, task_worker
) -> None:
    answer = api.post("/tasks", json={"name": "echo", "task_type": "test_noop", "payload": {"n": 7}})
    assert answer.status_code == 202, answer.text
    task_id = answer.json()["task_id"]
    assert answer.headers["location"] == f"/api/background/tasks/{task_id}"
    task = wait_for_status(api, task_id, "completed")
    assert (task["name"], task["result"], task["attempts"], task["progress"]) == (
        "echo",
        {"echo": {"n": 7}, "attempt": 1},
        1,
        1.0,
    )
    assert task["started_at"] and task["finished_at"]


def test_another_organisations_task_is_not_found(api: httpx.Client) -> None:
    task_id = api.post("/tasks", json={"task_type": "test_noop"}).json()["task_id"]
    other = bearer(ORG_B)
    for method, path in (("GET", ""), ("GET", "/logs"), ("GET", "/stream"), ("POST", "/cancel")):
        answer = api.request(method, f"/tasks/{task_id}{path}", headers=other)
        assert (answer.status_code, answer.json()["error"]) == (404, "task_not_found"), (method, path)
    assert api.get("/tasks", headers=other).json()["tasks"] == []
    assert api.get(f"/tasks/{task_id}").status_code == 200


def test_a_task_cancelled_while_pending_ends_cancelled_and_cancelling_again_is_idempotent(
    api: httpx.Client,
) -> None:
    task_id = api.post("/tasks", json={"task_type": "test_noop"}).json()["task_id"]  # no worker runs
    first = api.post(f"/tasks/{task_id}/cancel")
    again = api.post(f"/tasks/{task_id}/cancel")
    assert (first.status_code, first.json()["status"]) == (200, "cancelled")
    assert (again.status_code, again.json()["status"]) == (200, "cancelled")


def test_a_running_task_is_asked_to_stop_and_ends_cancelled(api: httpx.Client, task_worker) -> None:
    task_id = api.post("/tasks", json={"task_type": "test_sleeper", "payload": {"seconds": 30, "steps": 300}})
    task_id = task_id.json()["task_id"]
    wait_for_status(api, task_id, "running")
    answer = api.post(f"/tasks/{task_id}/cancel")
    assert (answer.status_code, answer.json()["status"], answer.json()["cancel_requested"]) == (
        202,
        "running",
        True,
    )
    task = wait_for_status(api, task_id, "cancelled", timeout=5)
    assert task["progress"] < 0.5


def test_cancelling_a_finished_task_is_a_conflict(api: httpx.Client, task_worker) -> None:
    task_id = api.post("/tasks", json={"task_type": "test_noop"}).json()["task_id"]
    wait_for_status(api, task_id, "completed")
    answer = api.post(f"/tasks/{task_id}/cancel")
    assert (answer.status_code, answer.json()["error"]) == (409, "task_finished")


def test_the_logs_of_a_retried_task_tell_each_attempt(api: httpx.Client, task_worker) -> None:
    task_id = api.post("/tasks", json={"task_type": "test_flaky", "payload": {"failures": 1}}).json()[
        "task_id"
    ]
    wait_for_status(api, task_id, "completed")
    logs = api.get(f"/tasks/{task_id}/logs").json()
    lines = [(line["attempt"], line["level"], line["message"].split(";")[0]) for line in logs["logs"]]
    assert lines == [
        (1, "warning", "attempt 1 failed: ConnectionError: flaky on attempt 1"),
        (2, "info", "worked on attempt 2"),
    ]
    assert api.get(f"/tasks/{task_id}/logs", params={"after_id": logs["last_id"]}).json()["logs"] == []


def test_the_list_is_the_organisations_tasks_newest_first_filtered_and_paged(api: httpx.Client) -> None:
    ids = [
        api.post("/tasks", json={"task_type": "test_noop", "name": f"t{n}"}).json()["task_id"]
        for n in range(5)
    ]
    sleeper = api.post("/tasks", json={"task_type": "test_sleeper"}).json()["task_id"]
    api.post(f"/tasks/{ids[0]}/cancel")
    api.post("/tasks", json={"task_type": "test_noop"}, headers=bearer(ORG_B))

    first = api.get("/tasks", params={"task_type": "test_noop", "limit": 3}).json()
    second = api.get(
        "/tasks", params={"task_type": "test_noop", "limit": 3, "cursor": first["next_cursor"]}
    ).json()
    assert [t["id"] for t in first["tasks"] + second["tasks"]] == ids[::-1]
    assert second["next_cursor"] is None
    assert [t["id"] for t in api.get("/tasks", params={"status": "cancelled"}).json()["tasks"]] == [ids[0]]
    assert [t["id"] for t in api.get("/tasks", params={"task_type": "test_sleeper"}).json()["tasks"]] == [
        sleeper
    ]
    later = api.get("/tasks", params={"created_after": "2999-01-01T00:00:00Z"}).json()
    assert later["tasks"] == []
