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
from zapq.queues import GENERAL_QUEUES, RESERVED_QUEUES

WORKER = "tests.support.background_worker"
ORG = "org-a"


@pytest.fixture
def submit(broker: RedisBroker, db: psycopg.Connection) -> Callable[..., str]:
    def submit(task_type: str, payload: dict[str, Any] | None = None, **options: Any) -> str:
        return submit_task(
            task_type, payload or {}, organization_id=ORG, user_id="u1", connection=db, **options
        )

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
        "completed",
        {"echo": {"n": 1}, "attempt": 1},
        1,
        1.0,
    )


def test_a_flaky_task_is_retried_with_its_policy_until_it_works(
    submit, task_of, worker_process: Callable[..., WorkerProcess], wait_until, db: psycopg.Connection
) -> None:
    worker_process(WORKER)
    task_id = submit("test_flaky", {"failures": 2})
    wait_until(ended(task_of, task_id), timeout=20, what="the task to end")
    task = task_of(task_id)
    assert (task.status, task.attempts, task.result) == ("completed", 3, {"attempt": 3})
    statuses = [
        row[0]
        for row in db.execute(
            "SELECT body->>'status' FROM background_task_events"
            " WHERE task_id = %s AND kind = 'status' ORDER BY seq",
            (task_id,),
        )
    ]
    assert statuses == ["pending", "running", "retrying", "running", "retrying", "running", "completed"]


def test_a_task_whose_retries_are_spent_fails_with_its_last_error(
    submit, task_of, worker_process: Callable[..., WorkerProcess], wait_until
) -> None:
    worker_process(WORKER)
    task_id = submit("test_crasher")
    wait_until(ended(task_of, task_id), timeout=20, what="the task to end")
    task = task_of(task_id)
    assert (task.status, task.attempts, task.error) == ("failed", 3, "RuntimeError: boom on attempt 3")


def test_a_permanent_error_fails_the_task_without_a_retry(
    submit, task_of, worker_process: Callable[..., WorkerProcess], wait_until
) -> None:
    worker_process(WORKER)
    task_id = submit("test_crasher", {"permanent": True})
    wait_until(ended(task_of, task_id), timeout=15, what="the task to end")
    task = task_of(task_id)
    assert (task.status, task.attempts, task.error) == ("failed", 1, "this input can never work")


def test_a_task_cancelled_while_pending_never_starts(
    submit, task_of, worker_process: Callable[..., WorkerProcess], wait_until, db: psycopg.Connection
) -> None:
    task_id = submit("test_noop")
    assert store.request_cancel(db, task_id, ORG).status == "cancelled"
    after = submit("test_noop")  # queued behind it: once it ends, the cancelled one was skipped
    worker_process(WORKER)
    wait_until(ended(task_of, after), timeout=15, what="the next task to end")
    task = task_of(task_id)
    assert (task.status, task.attempts, task.started_at) == ("cancelled", 0, None)


def test_a_running_task_stops_at_its_next_progress_report_when_cancelled(
    submit, task_of, worker_process: Callable[..., WorkerProcess], wait_until, db: psycopg.Connection
) -> None:
    worker_process(WORKER)
    task_id = submit("test_sleeper", {"seconds": 30, "steps": 300})
    wait_until(lambda: task_of(task_id).progress > 0, timeout=15, what="the task to report progress")
    running = store.request_cancel(db, task_id, ORG)
    assert (running.status, running.cancel_requested) == ("running", True)
    wait_until(ended(task_of, task_id), timeout=5, what="the task to stop")
    task = task_of(task_id)
    assert task.status == "cancelled" and task.progress < 0.5


def test_a_task_whose_worker_is_sigkilled_runs_again_on_another_worker_and_completes(
    submit, task_of, worker_process: Callable[..., WorkerProcess], wait_until
) -> None:
    first = worker_process(WORKER, threads=1)
    task_id = submit("test_sleeper", {"seconds": 3, "steps": 30})
    wait_until(lambda: task_of(task_id).progress > 0, timeout=15, what="the task to report progress")
    first.kill()
    assert task_of(task_id).status == "running"
    worker_process(WORKER, threads=1)
    # The sweep requeues the dead worker's message after the 2 s heartbeat timeout; it waits
    # out the dead run's 3 s lease, then runs as attempt 2.
    wait_until(ended(task_of, task_id), timeout=40, what="the redelivered task to end")
    task = task_of(task_id)
    assert (task.status, task.attempts) == ("completed", 2)


def test_a_critical_task_starts_within_a_second_behind_500_queued_low_tasks(
    submit, task_of, worker_process: Callable[..., WorkerProcess], wait_until, db: psycopg.Connection
) -> None:
    # make run's layout: the general worker (2 threads) never fetches critical work; the reserved one does.
    worker_process(WORKER, threads=2, queues=GENERAL_QUEUES)
    worker_process(WORKER, threads=1, queues=RESERVED_QUEUES)
    for _ in range(500):
        submit("test_sleeper", {"seconds": 0.5, "steps": 1}, priority="low")
    wait_until(
        lambda: (
            db.execute("SELECT count(*) FROM background_tasks WHERE status = 'running'").fetchone()[0] == 2
        ),
        timeout=15,
        what="the general worker to be busy with low tasks",
    )

    critical = submit("test_noop", priority="critical")
    wait_until(ended(task_of, critical), timeout=10, what="the critical task to end")
    task = task_of(critical)
    assert task.started_at is not None
    assert (task.started_at - task.created_at).total_seconds() < 1.0
    still_waiting = db.execute("SELECT count(*) FROM background_tasks WHERE status = 'pending'").fetchone()[0]
    assert still_waiting > 450


def test_a_function_declared_with_background_task_is_submitted_by_calling_it_and_run_by_a_worker(
    broker, db: psycopg.Connection, task_of, worker_process: Callable[..., WorkerProcess], wait_until
) -> None:
    from tests.support.background_types import shout

    task_id = shout({"text": "oi"}, organization_id=ORG, user_id="u1")
    assert task_of(task_id).priority == "high"
    worker_process(WORKER)
    wait_until(ended(task_of, task_id), timeout=15, what="the task to end")
    assert task_of(task_id).result == {"text": "OI"}
