"""POST /webhook: authenticated, validated at the edge, answered fast, stored by an actor."""

from __future__ import annotations

import psycopg
import pytest
from starlette.testclient import TestClient

from tests.support.generic_webhook import post_event, signed_headers
from web.app import create_app
from web.enqueue import AsyncEnqueuer
from zapq.embedded.redis_server import ensure_redis
from zapq.settings import SettingsError, get_settings
from zapq.whatsapp.signature import sign


def queued(redis_client, broker) -> int:
    """Messages Redis holds for the workers: on the queue, or merged into their debounce window at send."""
    from middleware.flow_control import find_flow_control

    on_queue = redis_client.llen(f"{broker.namespace}:default")
    items_prefix = find_flow_control(broker).keys.debounce_items_prefix
    merged = sum(
        sum(1 for entry in redis_client.lrange(key, 0, -1) if b"\n" in entry)
        for key in redis_client.scan_iter(f"{items_prefix}*")
    )
    return on_queue + merged


def test_accepted_event_is_queued_and_becomes_a_row(web_client, worker, db: psycopg.Connection, wait_until):
    response = post_event(web_client, {"unique_id": "u1", "message": "oi"})

    assert response.status_code == 202
    body = response.json()
    assert body["queued"] is True
    wait_until(lambda: db.execute("SELECT count(*) FROM webhook_events").fetchone()[0] == 1)
    row = db.execute("SELECT unique_id, body, message_id FROM webhook_events").fetchone()
    assert row == ("u1", "oi", body["event_id"])


def test_rapid_events_of_one_sender_are_stored_as_one_batch(web_client, worker, db, wait_until):
    for text in ("oi", "tudo bem?", "tem corolla?"):
        assert post_event(web_client, {"unique_id": "lead-1", "message": text}).status_code == 202
    assert post_event(web_client, {"unique_id": "lead-2", "message": "olá"}).status_code == 202

    wait_until(lambda: db.execute("SELECT count(*) FROM webhook_events").fetchone()[0] == 4, timeout=15)
    batches = db.execute(
        "SELECT unique_id, count(*), count(DISTINCT batch_id), array_agg(body ORDER BY id)"
        " FROM webhook_events GROUP BY unique_id ORDER BY unique_id"
    ).fetchall()
    assert batches == [("lead-1", 3, 1, ["oi", "tudo bem?", "tem corolla?"]), ("lead-2", 1, 1, ["olá"])]


@pytest.mark.parametrize(
    "headers",
    [
        {},  # nothing
        {"x-zapq-signature-256": "sha256=" + "0" * 64},  # wrong
        {"x-zapq-signature-256": sign("someone-elses-secret", b'{"unique_id":"u1","message":"oi"}')},
        {"authorization": "Bearer test-generic-secret"},  # the secret is not a token
    ],
)
def test_unsigned_or_wrongly_signed_events_get_401_and_queue_nothing(
    web_client, redis_client, broker, headers
):
    response = web_client.post(
        "/webhook",
        content=b'{"unique_id":"u1","message":"oi"}',
        headers={"content-type": "application/json", **headers},
    )

    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert queued(redis_client, broker) == 0


def test_a_sender_that_cannot_sign_may_use_the_bearer_token(monkeypatch, broker, redis_client):
    monkeypatch.setenv("GENERIC_WEBHOOK_TOKEN", "test-generic-token")
    get_settings.cache_clear()
    body = b'{"unique_id":"u1","message":"oi"}'

    with TestClient(create_app()) as client:
        accepted = client.post(
            "/webhook",
            content=body,
            headers={"content-type": "application/json", "authorization": "Bearer test-generic-token"},
        )
        refused = client.post(
            "/webhook",
            content=body,
            headers={"content-type": "application/json", "authorization": "Bearer x"},
        )

    assert (accepted.status_code, refused.status_code) == (202, 401)


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", "", "json"]
)
def test_anything_but_json_gets_415_even_when_signed(web_client, content_type):
    body = b'{"unique_id":"u1","message":"oi"}'

    response = web_client.post(
        "/webhook", content=body, headers={**signed_headers(body), "content-type": content_type}
    )

    assert response.status_code == 415
    assert response.json()["error"] == "unsupported_media_type"


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "application/vnd.crm.event+json"]
)
def test_json_media_types_with_parameters_are_accepted(web_client, content_type):
    body = b'{"unique_id":"u1","message":"oi"}'

    response = web_client.post(
        "/webhook", content=body, headers={**signed_headers(body), "content-type": content_type}
    )

    assert response.status_code == 202


def test_invalid_json_gets_400_naming_the_problem(web_client):
    body = b"{not json"
    response = web_client.post("/webhook", content=body, headers=signed_headers(body))

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_json"
    assert response.json()["detail"]


def test_json_nested_deeper_than_the_limit_gets_400_naming_the_limit(web_client):
    body = b'{"unique_id": "u1", "message": "oi", "extra": ' + b"[" * 965 + b"]" * 965 + b"}"

    response = web_client.post("/webhook", content=body, headers=signed_headers(body))

    assert response.status_code == 400
    assert response.json()["error"] == "json_too_deep"
    assert "64" in response.json()["detail"]


def test_missing_field_gets_422_naming_the_field(web_client):
    response = post_event(web_client, {"unique_id": "u1"})

    assert response.status_code == 422
    assert "message" in response.json()["detail"]


def test_wrong_type_gets_422(web_client):
    response = post_event(web_client, {"unique_id": 5, "message": "oi"})

    assert response.status_code == 422
    assert "unique_id" in response.json()["detail"]


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"unique_id": "", "message": "oi"}, "unique_id"),
        ({"unique_id": "u" * 129, "message": "oi"}, "unique_id"),
        ({"unique_id": "a/b", "message": "oi"}, "unique_id"),
        ({"unique_id": "a b", "message": "oi"}, "unique_id"),
        ({"unique_id": "u1\n", "message": "oi"}, "unique_id"),
        ({"unique_id": "u1\x00", "message": "oi"}, "unique_id"),
        ({"unique_id": "u1", "message": "o\x00i"}, "message"),
        ({"unique_id": "u1", "message": "o\x1bi"}, "message"),
        ({"unique_id": "u1", "message": "x" * 32_769}, "message"),
    ],
)
def test_fields_postgresql_cannot_hold_or_we_do_not_expect_get_422_naming_the_field(
    web_client, redis_client, broker, event, field
):
    response = post_event(web_client, event)

    assert response.status_code == 422
    assert f"$.{field}" in response.json()["detail"]
    assert queued(redis_client, broker) == 0


def test_ids_as_crms_write_them_and_multiline_messages_are_accepted(web_client):
    for unique_id in ("lead-42", "crm:7f3a.B_9", "ana@example.com", "+5511987654321", "u" * 128):
        event = {"unique_id": unique_id, "message": "linha 1\r\n\tlinha 2 😀"}
        assert post_event(web_client, event).status_code == 202, unique_id


def test_unreachable_redis_answers_503_without_its_address_and_queues_nothing(
    web_client, broker, tmp_path, redis_client, caplog
):
    doomed = ensure_redis(tmp_path / "doomed-redis")
    web_client.app.state.enqueuer = AsyncEnqueuer(broker, doomed.url)
    doomed.stop()

    response = post_event(web_client, {"unique_id": "u1", "message": "oi"})

    assert response.status_code == 503
    assert response.json() == {
        "error": "broker_unavailable",
        "detail": "the queue is unavailable, retry later",
    }
    assert redis_client.llen(f"{broker.namespace}:default") == 0
    assert "broker_unavailable" in caplog.text  # the details are in the log instead


def test_the_app_refuses_to_start_without_a_way_to_authenticate_events(monkeypatch):
    monkeypatch.setenv("GENERIC_WEBHOOK_SECRET", "")
    monkeypatch.delenv("GENERIC_WEBHOOK_TOKEN", raising=False)
    get_settings.cache_clear()

    with pytest.raises(SettingsError, match="GENERIC_WEBHOOK_SECRET"):
        create_app()


def test_allow_unsigned_lets_development_run_and_says_so_loudly(monkeypatch, broker, caplog):
    monkeypatch.setenv("GENERIC_WEBHOOK_SECRET", "")
    monkeypatch.setenv("GENERIC_WEBHOOK_ALLOW_UNSIGNED", "1")
    get_settings.cache_clear()

    with TestClient(create_app()) as client:
        response = client.post("/webhook", json={"unique_id": "u1", "message": "oi"})

    assert response.status_code == 202
    assert "GENERIC_WEBHOOK_ALLOW_UNSIGNED=1" in caplog.text


def test_allow_unsigned_opens_nothing_once_a_secret_is_set(monkeypatch, broker):
    monkeypatch.setenv("GENERIC_WEBHOOK_ALLOW_UNSIGNED", "1")
    get_settings.cache_clear()

    with TestClient(create_app()) as client:
        response = client.post("/webhook", json={"unique_id": "u1", "message": "oi"})

    assert response.status_code == 401
