"""Queue stats and cleanup (admin), health, and the integrations: n8n, bulk documents, daily schedules."""

from __future__ import annotations

import httpx
import psycopg

from tests.web.background.conftest import bearer, wait_for_status
from zapq.background import store
from zapq.background.records import NewTask
from zapq.background.schedules import claim_due


def test_stats_count_waiting_running_failed_and_durations_per_type(
    api: httpx.Client, task_worker, db: psycopg.Connection
) -> None:
    done = [api.post("/tasks", json={"task_type": "test_noop"}).json()["task_id"] for _ in range(3)]
    failed = api.post("/tasks", json={"task_type": "test_crasher", "payload": {"permanent": True}}).json()[
        "task_id"
    ]
    for task_id in done:
        wait_for_status(api, task_id, "completed")
    wait_for_status(api, failed, "failed")
    task_worker.stop()
    api.post("/tasks", json={"task_type": "test_noop", "priority": "high"})
    stats = api.get("/queue/stats", headers=bearer(admin=True)).json()
    assert stats["waiting"] == {"critical": 0, "high": 1, "normal": 0, "low": 0}
    assert (stats["running"], stats["failed_last_hour"], stats["completed_last_hour"]) == (0, 1, 3)
    [noop] = [row for row in stats["durations"] if row["task_type"] == "test_noop"]
    assert noop["completed"] == 3 and 0 <= noop["p50_s"] <= noop["p95_s"] < 5


def test_cleanup_deletes_finished_tasks_older_than_max_age(api: httpx.Client, db: psycopg.Connection) -> None:
    old = api.post("/tasks", json={"task_type": "test_noop"}).json()["task_id"]
    recent = api.post("/tasks", json={"task_type": "test_noop"}).json()["task_id"]
    pending = api.post("/tasks", json={"task_type": "test_noop"}).json()["task_id"]
    for task_id in (old, recent):
        api.post(f"/tasks/{task_id}/cancel")
    db.execute("UPDATE background_tasks SET finished_at = now() - interval '3 days' WHERE id = %s", (old,))
    admin = bearer(admin=True)
    assert api.post("/queue/cleanup", params={"max_age_days": 2}, headers=admin).json() == {"deleted": 1}
    assert [api.get(f"/tasks/{t}").status_code for t in (old, recent, pending)] == [404, 200, 200]
    assert api.post("/queue/cleanup", headers=admin).json()["field"] == "max_age_days"


def test_health_reports_the_database_and_the_broker(api: httpx.Client) -> None:
    answer = httpx.get(str(api.base_url).rstrip("/") + "/health")  # no token needed
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "database": True, "broker": True, "open_streams": 0}


def test_an_n8n_trigger_and_sync_are_external_sync_tasks(api: httpx.Client) -> None:
    trigger = api.post("/integrations/n8n/trigger", json={"workflow": "lead-created", "data": {"lead": 1}})
    sync = api.post("/tasks/n8n-sync", json={"sync_type": "user_registration", "data": {"user": 2}})
    tasks = [
        api.get(answer.headers["location"].removeprefix("/api/background")).json()
        for answer in (trigger, sync)
    ]
    assert [(t["task_type"], t["payload"], t["priority"]) for t in tasks] == [
        ("external_sync", {"sync_type": "lead-created", "data": {"lead": 1}}, "high"),
        ("external_sync", {"sync_type": "user_registration", "data": {"user": 2}}, "normal"),
    ]


def test_a_bulk_submission_is_one_parent_with_a_document_processing_child_per_document(
    api: httpx.Client,
) -> None:
    documents = [{"document_id": f"doc-{n}", "content": f"text {n}"} for n in range(3)]
    answer = api.post(
        "/integrations/knowledge/process-bulk",
        json={"documents": documents, "chunk_size": 200},
        headers={"Idempotency-Key": "bulk-1"},
    )
    assert answer.status_code == 202, answer.text
    parent = api.get(f"/tasks/{answer.json()['task_id']}").json()
    children = [api.get(f"/tasks/{child}").json() for child in answer.json()["children"]]
    assert (parent["task_type"], parent["status"]) == ("bulk", "running")
    assert [
        (c["task_type"], c["parent_id"], c["payload"]["document_id"], c["payload"]["chunk_size"])
        for c in children
    ] == [("document_processing", parent["id"], f"doc-{n}", 200) for n in range(3)]
    replay = api.post(
        "/integrations/knowledge/process-bulk",
        json={"documents": documents, "chunk_size": 200},
        headers={"Idempotency-Key": "bulk-1"},
    )
    assert replay.json() == answer.json()


def test_a_bulk_parent_follows_its_children_progress_and_ends_when_they_have(
    api: httpx.Client, task_worker, db: psycopg.Connection
) -> None:
    parent_id = "00000000-0000-4000-8000-000000000001"
    parent = NewTask(
        organization_id="org-a",
        user_id="u",
        name="bulk",
        task_type="bulk",
        priority="normal",
        payload={},
        status="running",
    )
    children = [
        (
            f"00000000-0000-4000-8000-00000000001{n}",
            NewTask(
                organization_id="org-a",
                user_id="u",
                name=f"c{n}",
                task_type=kind,
                priority="normal",
                payload=payload,
                parent_id=parent_id,
            ),
        )
        for n, (kind, payload) in enumerate(
            [
                ("test_sleeper", {"seconds": 1, "steps": 4}),
                ("test_noop", {}),
                ("test_crasher", {"permanent": True}),
            ]
        )
    ]
    store.insert_bulk(db, parent_id, parent, children)
    for child_id, _ in children:
        api.post("/tasks", json={"task_type": "test_noop"})  # unrelated work beside it
        from dramatiq import get_broker

        from zapq.background.messages import run_message

        get_broker().enqueue(run_message(child_id, "normal"))
    final = wait_for_status(api, parent_id, "failed", "completed")
    assert (final["status"], final["progress"], final["error"]) == ("failed", 1.0, "1 of 3 failed")
    assert final["result"] == {"total": 3, "completed": 2, "failed": 1, "cancelled": 0}
    progress = [
        row[0]
        for row in db.execute(
            "SELECT (body->>'progress')::float FROM background_task_events WHERE task_id = %s ORDER BY seq",
            (parent_id,),
        )
    ]
    assert any(0 < value < 1 for value in progress) and progress == sorted(progress)


def test_a_daily_schedule_submits_one_analytics_task_per_day(
    api: httpx.Client, db: psycopg.Connection
) -> None:
    answer = api.post("/integrations/analytics/schedule-daily", json={"run_at": "00:00", "payload": {"k": 1}})
    assert answer.status_code == 201, answer.text
    assert (answer.json()["task_type"], answer.json()["organization_id"]) == ("analytics_processing", "org-a")
    assert [schedule.id for schedule in claim_due(db)] == [answer.json()["id"]]
    assert claim_due(db) == []  # the second tick of the day finds it done
