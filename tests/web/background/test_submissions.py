"""What a submission must be: each endpoint's body, field by field, the size limit, the Idempotency-Key."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import psycopg
import pytest

from tests.web.background.conftest import ORG_B, bearer


@pytest.mark.parametrize(
    "path, body, field",
    [
        ("/tasks", {"task_type": "no_such_type"}, "task_type"),
        ("/tasks", {"task_type": "test_noop", "priority": "urgent"}, "priority"),
        ("/tasks", {"task_type": "test_noop", "payload": [1, 2]}, "payload"),
        ("/tasks", {"payload": {}}, "task_type"),
        ("/tasks", {"task_type": "test_noop", "extra": 1}, "extra"),
        ("/tasks/document-processing", {"document_id": "d1", "content": "x", "chunk_size": -5}, "chunk_size"),
        ("/tasks/document-processing", {"document_id": "d1"}, "content"),
        ("/tasks/webhook-delivery", {"webhook_url": "ftp://example.com/x"}, "webhook_url"),
        ("/tasks/webhook-delivery", {"webhook_url": "https://example.com", "headers": {"a": 1}}, "headers"),
        ("/tasks/n8n-sync", {"sync_type": "../etc"}, "sync_type"),
        ("/integrations/n8n/trigger", {"workflow": ""}, "workflow"),
        ("/integrations/knowledge/process-bulk", {"documents": []}, "documents"),
        (
            "/integrations/knowledge/process-bulk",
            {"documents": [{"document_id": "d"}]},
            "documents[0].content",
        ),
        ("/integrations/analytics/schedule-daily", {"run_at": "25:00"}, "run_at"),
    ],
    ids=[
        "unknown-type",
        "bad-priority",
        "payload-not-object",
        "no-type",
        "unknown-field",
        "negative-chunk-size",
        "no-content",
        "ftp-url",
        "header-not-string",
        "sync-type-path",
        "empty-workflow",
        "no-documents",
        "document-without-content",
        "hour-25",
    ],
)
def test_a_bad_body_gets_a_422_naming_the_field(
    api: httpx.Client, path: str, body: object, field: str
) -> None:
    answer = api.post(path, json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field, answer.json()


def test_a_body_that_is_not_json_is_refused(api: httpx.Client) -> None:
    assert api.post("/tasks", content=b"{", headers={"content-type": "application/json"}).status_code == 400
    answer = api.post("/tasks", content=b"task_type=x", headers={"content-type": "text/plain"})
    assert (answer.status_code, answer.json()["field"]) == (415, "content-type")


def test_a_50_mb_payload_is_refused_before_it_is_read(api: httpx.Client) -> None:
    big = b'{"task_type": "test_noop", "payload": {"blob": "' + b"x" * 50_000_000 + b'"}}'
    answer = api.post("/tasks", content=big, headers={"content-type": "application/json"})
    assert (answer.status_code, answer.json()["error"]) == (413, "body_too_large")


def test_bad_query_parameters_are_named(api: httpx.Client) -> None:
    for params, field in (
        ({"status": "done"}, "status"),
        ({"limit": "0"}, "limit"),
        ({"cursor": "nope"}, "cursor"),
        ({"created_after": "yesterday"}, "created_after"),
    ):
        answer = api.get("/tasks", params=params)
        assert (answer.status_code, answer.json()["field"]) == (422, field)
    assert api.get("/tasks/not-a-uuid").status_code == 404


def test_the_same_idempotency_key_and_body_give_the_first_task(api: httpx.Client) -> None:
    body = {"task_type": "test_noop", "payload": {"a": 1, "b": 2}}
    first = api.post("/tasks", json=body, headers={"Idempotency-Key": "k-1"})
    # The same body with its keys in another order is the same request.
    again = api.post(
        "/tasks",
        content=b'{"payload": {"b": 2, "a": 1}, "task_type": "test_noop"}',
        headers={"Idempotency-Key": "k-1", "content-type": "application/json"},
    )
    assert first.status_code == again.status_code == 202
    assert (
        again.json()["task_id"] == first.json()["task_id"] and again.headers["idempotent-replayed"] == "true"
    )
    other_body = api.post("/tasks", json={**body, "payload": {"a": 2}}, headers={"Idempotency-Key": "k-1"})
    assert (other_body.status_code, other_body.json()["error"]) == (422, "idempotency_key_reused")
    # Keys are the organisation's own: org B's k-1 is another task.
    theirs = api.post("/tasks", json=body, headers={"Idempotency-Key": "k-1", **bearer(ORG_B)})
    assert theirs.status_code == 202 and theirs.json()["task_id"] != first.json()["task_id"]


def test_twenty_concurrent_submissions_with_one_key_make_one_task(
    api: httpx.Client, db: psycopg.Connection
) -> None:
    body = {"task_type": "test_noop", "payload": {"order": 42}}

    def post(_: int) -> httpx.Response:
        with httpx.Client(base_url=str(api.base_url), headers=dict(api.headers)) as client:
            return client.post("/tasks", json=body, headers={"Idempotency-Key": "order-42"})

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(post, range(20)))
    assert {answer.status_code for answer in answers} == {202}
    assert len({answer.json()["task_id"] for answer in answers}) == 1
    assert db.execute("SELECT count(*) FROM background_tasks").fetchone() == (1,)
    assert sum(answer.headers.get("idempotent-replayed") != "true" for answer in answers) == 1


def test_text_postgresql_cannot_store_is_a_422_not_a_500(api: httpx.Client) -> None:
    # Found by schemathesis: a NUL character in a document.
    nul = api.post("/tasks/document-processing", json={"document_id": "d", "content": "a\u0000b"})
    assert (nul.status_code, nul.json()["error"]) == (422, "invalid_value")
    surrogate = api.post(
        "/tasks",
        content=b'{"task_type": "test_noop", "payload": {"s": "\\ud800"}}',
        headers={"content-type": "application/json"},
    )
    assert surrogate.status_code in (400, 422)
