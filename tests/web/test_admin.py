"""The admin API at the edge: who may call it, what it accepts, and what it says when PostgreSQL is down."""

from __future__ import annotations

import time

import pytest
from starlette.testclient import TestClient

from web.app import create_app
from web.database import open_pool
from zapq.settings import get_settings

TOKEN = {"authorization": "Bearer test-admin-token"}  # ADMIN_API_TOKEN in tests/conftest.py
RELEASE = "/api/conversations/5511999990000/release"


def test_an_unknown_conversation_is_404_with_the_right_token(web_client):
    response = web_client.post(RELEASE, headers=TOKEN)

    assert response.status_code == 404
    assert response.json()["error"] == "conversation_not_found"


def test_wrong_tokens_are_logged_with_the_client_address_and_refused_later_each_time(web_client, caplog):
    elapsed = []
    for _ in range(4):
        started = time.monotonic()
        response = web_client.post(RELEASE, headers={"authorization": "Bearer guess"})
        elapsed.append(time.monotonic() - started)
        assert response.status_code == 401

    assert elapsed[3] >= 0.8 > elapsed[0]  # 0.1 s, 0.2, 0.4, 0.8: doubling per failure in a row
    assert "wrong or missing token from testclient (4 in a row)" in caplog.text


def test_the_right_token_starts_the_client_over(web_client):
    for _ in range(3):
        web_client.post(RELEASE)
    assert web_client.post(RELEASE, headers=TOKEN).status_code == 404

    started = time.monotonic()
    web_client.post(RELEASE)
    assert time.monotonic() - started < 0.3


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/conversations/%00/release", "wa_id"),
        ("/api/conversations/55119%00/release", "wa_id"),
        ("/api/conversations/ana/release", "wa_id"),
        ("/api/conversations/:/release", "wa_id"),
        ("/api/conversations/" + "5" * 33 + "/release", "wa_id"),
        ("/api/conversations/%F0%9F%98%80/release", "wa_id"),
        (RELEASE + "?phone_number_id=%00", "phone_number_id"),
        (RELEASE + "?phone_number_id=1%3B%20DROP", "phone_number_id"),
    ],
)
def test_identifiers_that_are_not_whatsapp_ids_get_400_naming_the_field(web_client, path, field):
    response = web_client.post(path, headers=TOKEN)

    assert response.status_code == 400
    assert response.json() == {"error": "invalid_parameter", "detail": f"{field} must be 1 to 32 digits"}


def test_hostile_identifiers_without_the_token_learn_nothing_but_401(web_client):
    assert web_client.post("/api/conversations/%00/release").status_code == 401


def test_postgresql_down_is_a_503_with_a_json_body(web_client):
    dead_pool = web_client.app.state.database = open_pool("postgresql://nobody@127.0.0.1:1/none", 20)
    try:
        response = web_client.post(RELEASE, headers=TOKEN)
    finally:
        dead_pool.close()

    assert response.status_code == 503
    assert response.json() == {
        "error": "database_unavailable",
        "detail": "the database is unavailable, retry later",
    }


def test_without_a_configured_token_the_admin_api_is_off(monkeypatch, broker):
    monkeypatch.setenv("ADMIN_API_TOKEN", "")
    get_settings.cache_clear()

    with TestClient(create_app()) as client:
        response = client.post(RELEASE, headers=TOKEN)

    assert response.status_code == 403
    assert response.json()["error"] == "admin_api_disabled"


def test_poison_items_are_listed_newest_first_a_page_at_a_time(web_client, db):
    from zapq.db.poison import PoisonBin

    def refused() -> None:
        db.execute("SELECT %s::text", ("\x00",))

    poison = PoisonBin(db, "store_webhook_events", "batch-1")
    for event_id in ("good-1", "bad-\x00", "third"):
        poison.attempt(event_id, {"event_id": event_id}, refused)

    first = web_client.get("/api/poison?limit=2", headers=TOKEN)
    assert first.status_code == 200
    items = first.json()["items"]
    assert [item["item_id"] for item in items] == ["third", "bad-\\u0000"]
    assert items[0]["actor_name"] == "store_webhook_events" and "DataError" in items[0]["error"]
    rest = web_client.get(f"/api/poison?before_id={items[-1]['id']}", headers=TOKEN).json()["items"]
    assert [item["item_id"] for item in rest] == ["good-1"]


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=501", "limit=-1", "limit=%00", "before_id=x", "limit=\u0661"]
)
def test_odd_poison_page_parameters_are_400(web_client, query):
    response = web_client.get(f"/api/poison?{query}", headers=TOKEN)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_parameter"


def test_the_poison_list_needs_the_admin_token(web_client):
    assert web_client.get("/api/poison").status_code == 401
