"""POST /webhook: validated at the edge, answered fast, stored by an actor."""

from __future__ import annotations

import psycopg

from web.enqueue import AsyncEnqueuer
from zapq.embedded.redis_server import ensure_redis


def test_accepted_event_is_queued_and_becomes_a_row(web_client, worker, db: psycopg.Connection, wait_until):
    response = web_client.post("/webhook", json={"unique_id": "u1", "message": "oi"})

    assert response.status_code == 202
    body = response.json()
    assert body["queued"] is True
    wait_until(lambda: db.execute("SELECT count(*) FROM webhook_events").fetchone()[0] == 1)
    row = db.execute("SELECT unique_id, body, message_id FROM webhook_events").fetchone()
    assert row == ("u1", "oi", body["event_id"])


def test_rapid_events_of_one_sender_are_stored_as_one_batch(web_client, worker, db, wait_until):
    for text in ("oi", "tudo bem?", "tem corolla?"):
        assert web_client.post("/webhook", json={"unique_id": "lead-1", "message": text}).status_code == 202
    assert web_client.post("/webhook", json={"unique_id": "lead-2", "message": "olá"}).status_code == 202

    wait_until(lambda: db.execute("SELECT count(*) FROM webhook_events").fetchone()[0] == 4, timeout=15)
    batches = db.execute(
        "SELECT unique_id, count(*), count(DISTINCT batch_id), array_agg(body ORDER BY id)"
        " FROM webhook_events GROUP BY unique_id ORDER BY unique_id"
    ).fetchall()
    assert batches == [("lead-1", 3, 1, ["oi", "tudo bem?", "tem corolla?"]), ("lead-2", 1, 1, ["olá"])]


def test_invalid_json_gets_400_naming_the_problem(web_client):
    response = web_client.post("/webhook", content=b"{not json", headers={"content-type": "application/json"})

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_json"
    assert response.json()["detail"]


def test_missing_field_gets_422_naming_the_field(web_client):
    response = web_client.post("/webhook", json={"unique_id": "u1"})

    assert response.status_code == 422
    assert "message" in response.json()["detail"]


def test_wrong_type_gets_422(web_client):
    response = web_client.post("/webhook", json={"unique_id": 5, "message": "oi"})

    assert response.status_code == 422
    assert "unique_id" in response.json()["detail"]


def test_unreachable_redis_answers_503_and_queues_nothing(web_client, broker, tmp_path, redis_client):
    doomed = ensure_redis(tmp_path / "doomed-redis")
    web_client.app.state.enqueuer = AsyncEnqueuer(broker, doomed.url)
    doomed.stop()

    response = web_client.post("/webhook", json={"unique_id": "u1", "message": "oi"})

    assert response.status_code == 503
    assert response.json()["error"] == "broker_unavailable"
    assert redis_client.llen(f"{broker.namespace}:default") == 0
