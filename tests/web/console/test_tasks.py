"""Background tasks: a task's progress bar moves to 100 % as a real worker runs it; cancel, retry, scopes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import psycopg
import pytest
from dramatiq.brokers.redis import RedisBroker

from tests.support import background_types  # noqa: F401 (the test task types, for submit_task's check)
from tests.support.worker_process import WorkerProcess
from tests.web.console.conftest import ConsolePage, console_jwt
from zapq.background import store
from zapq.background.api import submit_task

WORKER = "tests.support.background_worker"


@pytest.fixture
def submit(broker: RedisBroker, db: psycopg.Connection) -> Callable[..., str]:
    def submit(task_type: str, payload: dict[str, Any] | None = None, org: str = "dealer-1") -> str:
        return submit_task(task_type, payload or {}, organization_id=org, user_id="u1", connection=db)

    return submit


@pytest.fixture
def task_worker(worker_process: Callable[..., WorkerProcess]) -> WorkerProcess:
    return worker_process(WORKER, threads=2)


def status_of(db: psycopg.Connection, task_id: str) -> str:
    task = store.get_task(db, task_id, None)
    assert task is not None
    return task.status


def test_a_tasks_progress_bar_moves_to_100_percent_as_a_worker_runs_it(
    console: ConsolePage, submit: Callable[..., str], task_worker: WorkerProcess, db: psycopg.Connection
) -> None:
    console.login()
    task_id = submit("test_sleeper", {"seconds": 4, "steps": 8})
    console.goto("tasks", f"id={task_id}")
    console.page.wait_for_selector("#task-progress")
    seen: list[int] = []
    for _ in range(200):
        seen.append(int(console.page.get_attribute("#task-progress", "aria-valuenow") or 0))
        if seen[-1] == 100:
            break
        console.page.wait_for_timeout(100)
    assert seen[-1] == 100
    assert any(0 < value < 100 for value in seen), seen  # it moved, not jumped from nothing to done
    console.page.wait_for_selector("#task-state >> text=completed")
    assert console.page.inner_text("#task-percent") == "100%"
    console.page.wait_for_selector("#task-logs >> text=sleeping 4.0 s in 8 steps")
    assert '"steps": 8' in console.page.inner_text("#task-result")
    console.screenshot("tasks-detail")

    console.goto("tasks", "status=completed")
    row = console.page.wait_for_selector(f"#task-rows tr[data-id='{task_id}']")
    assert "test_sleeper" in row.inner_text() and "completed" in row.inner_text()
    assert console.console_errors == []
    console.screenshot("tasks")
    console.screenshot("tasks-phone", phone=True)


def test_a_running_task_cancelled_from_the_list_stops_and_the_action_is_recorded(
    console: ConsolePage, submit: Callable[..., str], task_worker: WorkerProcess, db: psycopg.Connection,
    wait_until: Callable[..., None], console_api: httpx.Client,
) -> None:  # fmt: skip
    task_id = submit("test_sleeper", {"seconds": 60, "steps": 600})
    wait_until(lambda: status_of(db, task_id) == "running", timeout=20, what="the task to start")
    console.login()
    console.goto("tasks", "q=sleeper")
    console.page.click(f"#task-rows tr[data-id='{task_id}'] button.cancel")
    console.accept_next_confirm()
    console.page.wait_for_selector(f"#task-rows tr[data-id='{task_id}'] [data-status='cancelled']")
    assert status_of(db, task_id) == "cancelled"
    actions = console_api.get("/api/console/actions").json()["actions"]
    assert [(a["action"], a["target"], a["actor"]) for a in actions] == [("task.cancel", task_id, "admin")]


def test_a_failed_task_retried_from_its_page_runs_again_as_a_new_task(
    console: ConsolePage, submit: Callable[..., str], task_worker: WorkerProcess, db: psycopg.Connection,
    wait_until: Callable[..., None],
) -> None:  # fmt: skip
    task_id = submit("test_crasher", {"permanent": True})
    wait_until(lambda: status_of(db, task_id) == "failed", timeout=20, what="the task to fail")
    console.login()
    console.goto("tasks", f"id={task_id}")
    assert "this input can never work" in console.page.wait_for_selector("#task-error").inner_text()
    console.page.click("#task-retry")
    console.accept_next_confirm()
    console.page.wait_for_url(lambda url: task_id not in url)  # the page moved to the new task
    new_id = console.page.url.rsplit("id=", 1)[1]
    wait_until(lambda: status_of(db, new_id) == "failed", timeout=20, what="the retry to run")
    retried = store.get_task(db, new_id, None)
    assert retried is not None
    assert (retried.task_type, retried.payload) == ("test_crasher", {"permanent": True})
    assert status_of(db, task_id) == "failed"  # the first task's history is left as it was


def test_an_agent_sees_and_acts_on_its_own_organisations_tasks_only(
    console_api: httpx.Client, submit: Callable[..., str]
) -> None:
    ours, theirs = submit("test_noop", org="dealer-1"), submit("test_noop", org="dealer-2")
    agent = {"Authorization": f"Bearer {console_jwt('agent', org='dealer-1')}"}

    listed = console_api.get("/api/console/tasks", headers=agent).json()
    assert [task["id"] for task in listed["tasks"]] == [ours] and listed["organization"] == "dealer-1"
    assert {t["id"] for t in console_api.get("/api/console/tasks").json()["tasks"]} == {ours, theirs}
    only_two = console_api.get("/api/console/tasks?organization=dealer-2").json()["tasks"]
    assert [task["id"] for task in only_two] == [theirs]
    other = console_api.get("/api/console/tasks?organization=dealer-2", headers=agent)
    assert other.status_code == 403 and other.json()["error"] == "forbidden"
    assert console_api.get(f"/api/console/tasks/{theirs}", headers=agent).status_code == 404
    cancel = console_api.post(f"/api/console/tasks/{theirs}/cancel", json={"confirm": True}, headers=agent)
    assert cancel.status_code == 404
    assert console_api.get(f"/api/console/tasks/{ours}", headers=agent).json()["task"]["id"] == ours


def test_the_task_api_refuses_strangers_hostile_input_and_unconfirmed_changes(
    console_api: httpx.Client, submit: Callable[..., str], db: psycopg.Connection
) -> None:
    task_id = submit("test_noop")
    anonymous = httpx.get(f"{console_api.base_url}/api/console/tasks")
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "unauthorized"
    no_role = {"Authorization": f"Bearer {console_jwt(None)}"}
    assert console_api.get("/api/console/tasks", headers=no_role).status_code == 403

    cases = {
        "/api/console/tasks/not-a-uuid": "invalid_task_id",
        "/api/console/tasks/8c6fb5e4-8b59-4b1c-9d1f-2f3c2b8c1a1%2A": "invalid_task_id",
        "/api/console/tasks?status=exploded": "invalid_parameter",
        "/api/console/tasks?limit=0": "invalid_parameter",
        "/api/console/tasks?q=" + "x" * 65: "invalid_parameter",
        "/api/console/tasks?type=%00": "invalid_parameter",
    }
    for path, error in cases.items():
        answer = console_api.get(path)
        assert (answer.status_code, answer.json()["error"]) == (400, error), path
    # LIKE's wildcards are matched literally: a search for "%" finds no task, not every task
    assert console_api.get("/api/console/tasks?q=%25").json()["tasks"] == []
    by_id_start = console_api.get(f"/api/console/tasks?q={task_id[:8]}").json()["tasks"]
    assert [task["id"] for task in by_id_start] == [task_id]
    missing = console_api.get("/api/console/tasks/8c6fb5e4-8b59-4b1c-9d1f-2f3c2b8c1a11")
    assert missing.status_code == 404 and missing.json()["error"] == "task_not_found"

    unconfirmed = console_api.post(f"/api/console/tasks/{task_id}/cancel", json={})
    assert unconfirmed.status_code == 400 and unconfirmed.json()["error"] == "confirmation_required"
    not_json = console_api.post(f"/api/console/tasks/{task_id}/retry", content=b"{",
                                headers={"Content-Type": "application/json"})  # fmt: skip
    assert not_json.status_code == 400 and not_json.json()["error"] == "invalid_body"
    pending = console_api.post(f"/api/console/tasks/{task_id}/retry", json={"confirm": True})
    assert pending.status_code == 409 and pending.json()["error"] == "task_not_retryable"
    assert console_api.get("/api/console/actions").json()["actions"] == []
