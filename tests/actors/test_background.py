"""The background-task actors in real worker processes: runs, retries, failures, cancels, crashes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from dramatiq.brokers.redis import RedisBroker

from tests.support import background_types  # noqa: F401 (the test task types, for submit_task's check)
from tests.support.worker_process import WorkerProcess
from zapq.background import store
from zapq.background.api import submit_task
from zapq.background.records import Task

WORKER = "tests.support.background_worker"
ORG = "org-a"


@pytest.fixture
def submit(broker: RedisBroker, db: psycopg.Connection) -> Callable[..., str]:
    def submit(task_type: str, payload: dict[str, Any] | None = None, **options: Any) -> str:
        return submit_task(task_type, payload or {}, organization_id=ORG, user_id="u1", connection=db, **options)

    return submit


@pytest.fixture
def task_of(db: psycopg.Connection) -> Callable[[str], Task]:
    def task_of(task_id: str) -> Task:
        task = store.get_task(db, task_id, ORG)
        assert task is not None
        return task

    return task_of


def ended(task_of: Callable[[str], Task], task_id: str) -> Callable[[], bool]:
    return lambda: task_of(task_id).status in ("completed", "failed", "cancelled")


def test_a_task_runs_once_and_stores_its_result(
    submit, task_of, worker_process: Callable[..., WorkerProcess], wait_until
) -> None:
    worker_process(WORKER)
    task_id = submit("test_noop", {"n": 1})
    wait_until(ended(task_of, task_id), timeout=15, what="the task to end")
    task = task_of(task_id)
    assert (task.status, task.result, task.attempts, task.progress) == (
        "completed", {"echo": {"n": 1}, "attempt": 1}, 1, 1.0,
    )  # fmt: skip
