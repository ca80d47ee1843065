"""Task types run by the service in a real worker: retries, Retry-After, the SSRF guard, documents."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from dramatiq.brokers.redis import RedisBroker

from tests.support.http_peer import CannedResponse, HttpPeer
from tests.support.worker_process import WorkerProcess
from zapq.background import store
from zapq.background.api import submit_task
from zapq.background.records import Task

ORG = "org-a"
# Retries within a test's patience: webhook_delivery 3 retries from 0.2 s.
FAST_RETRIES = {"TASK_RETRY_POLICIES": "webhook_delivery=3:0.2:1,document_processing=1:0.2:1"}


@pytest.fixture
def submit(broker: RedisBroker, db: psycopg.Connection) -> Callable[..., str]:
    def submit(task_type: str, payload: dict[str, Any]) -> str:
        return submit_task(task_type, payload, organization_id=ORG, user_id="u1", connection=db)

    return submit


@pytest.fixture
def finished(db: psycopg.Connection, wait_until) -> Callable[[str], Task]:  # type: ignore[no-untyped-def]
    def finished(task_id: str) -> Task:
        def task() -> Task:
            found = store.get_task(db, task_id, ORG)
            assert found is not None
            return found

        wait_until(lambda: task().status in ("completed", "failed", "cancelled"), timeout=30, what="the task")
        return task()

    return finished


def allowing(peer: HttpPeer) -> dict[str, str]:
    return {**FAST_RETRIES, "WEBHOOK_ALLOWED_HOSTS": peer.url.removeprefix("http://")}


def test_a_webhook_answered_503_then_200_completes_on_its_second_attempt_with_both_in_its_log(
    submit, finished, http_peer: HttpPeer, worker_process: Callable[..., WorkerProcess], db
) -> None:
    worker_process("actors", env=allowing(http_peer))
    http_peer.enqueue(CannedResponse(503), CannedResponse(200, {"ok": True}))

    task = finished(submit("webhook_delivery", {"webhook_url": f"{http_peer.url}/hook", "data": {"a": 1}}))

    assert (task.status, task.attempts) == ("completed", 2)
    assert [request.json() for request in http_peer.received("/hook")] == [{"a": 1}, {"a": 1}]
    lines = [line.message for line in store.list_logs(db, task.id, after_id=0, limit=100)]
    assert any("503" in line for line in lines) and any("200" in line for line in lines)


def test_a_retry_after_from_the_destination_delays_the_next_attempt(
    submit, finished, http_peer: HttpPeer, worker_process: Callable[..., WorkerProcess]
) -> None:
    worker_process("actors", env=allowing(http_peer))
    http_peer.enqueue(CannedResponse(429, headers={"Retry-After": "2"}), CannedResponse(200))

    task = finished(submit("webhook_delivery", {"webhook_url": f"{http_peer.url}/slow", "data": {}}))

    assert (task.status, task.attempts) == ("completed", 2)
    assert task.started_at is not None and task.finished_at is not None
    assert (task.finished_at - task.started_at).total_seconds() >= 2.0  # not the policy's 0.2 s


def test_a_webhook_to_a_loopback_address_without_the_allowance_fails_at_once_and_never_connects(
    submit, finished, http_peer: HttpPeer, worker_process: Callable[..., WorkerProcess]
) -> None:
    worker_process("actors", env=FAST_RETRIES)

    task = finished(submit("webhook_delivery", {"webhook_url": f"{http_peer.url}/internal", "data": {}}))

    assert (task.status, task.attempts) == ("failed", 1)
    assert task.error is not None and "127.0.0.1" in task.error
    assert http_peer.received() == []


def test_a_document_processed_twice_keeps_one_set_of_chunks(
    submit, finished, worker_process: Callable[..., WorkerProcess], db: psycopg.Connection
) -> None:
    worker_process("actors", env=FAST_RETRIES)
    document = {
        "document_id": "manual",
        "content": "Primeiro parágrafo.\n\nSegundo parágrafo.",
        "chunk_size": 60,
    }

    first = finished(submit("document_processing", document))
    again = finished(submit("document_processing", document))

    assert (first.status, again.status) == ("completed", "completed")
    assert again.result is not None and again.result["chunks_replaced"] == again.result["chunks"]
    rows = db.execute(
        "SELECT count(*) FROM document_chunks WHERE organization_id = %s AND document_id = 'manual'", (ORG,)
    ).fetchone()
    assert rows == (again.result["chunks"],)
