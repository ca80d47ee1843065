"""Submit, read, list, log and cancel tasks over HTTP, with a real web app, worker, PostgreSQL and Redis."""

from __future__ import annotations

import httpx

from tests.web.background.conftest import ORG_B, bearer, wait_for_status


def test_a_submitted_task_is_accepted_with_its_location_and_runs_to_completion(api: httpx.Client, task_worker) -> None:
    answer = api.post("/tasks", json={"name": "echo", "task_type": "test_noop", "payload": {"n": 7}})
    assert answer.status_code == 202, answer.text
    task_id = answer.json()["task_id"]
    assert answer.headers["location"] == f"/api/background/tasks/{task_id}"
    task = wait_for_status(api, task_id, "completed")
    assert (task["name"], task["result"], task["attempts"], task["progress"]) == (
        "echo", {"echo": {"n": 7}, "attempt": 1}, 1, 1.0,
    )  # fmt: skip
    assert task["started_at"] and task["finished_at"]


def test_another_organisations_task_is_not_found(api: httpx.Client) -> None:
    task_id = api.post("/tasks", json={"task_type": "test_noop"}).json()["task_id"]
    other = bearer(ORG_B)
    for method, path in (("GET", ""), ("GET", "/logs"), ("GET", "/stream"), ("POST", "/cancel")):
        answer = api.request(method, f"/tasks/{task_id}{path}", headers=other)
        assert (answer.status_code, answer.json()["error"]) == (404, "task_not_found"), (method, path)
    assert api.get("/tasks", headers=other).json()["tasks"] == []
    assert api.get(f"/tasks/{task_id}").status_code == 200
