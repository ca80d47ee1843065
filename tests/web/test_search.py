"""`GET /api/search`: the nearest cars and past customer messages, behind the admin token."""

from __future__ import annotations

import psycopg
import pytest

from zapq.conversation.seed import seed_inventory
from zapq.embeddings.generate import embed_stock, generate_embedding
from zapq.embeddings.local import LOCAL_MODEL
from zapq.embeddings.providers import build_provider
from zapq.embeddings.texts import EmbeddingKind
from zapq.settings import get_settings

TOKEN = {"authorization": "Bearer test-admin-token"}  # ADMIN_API_TOKEN in tests/conftest.py


@pytest.fixture
def embedded_stock(db: psycopg.Connection) -> None:
    seed_inventory(db)
    provider = build_provider(get_settings())  # the local model, as the web builds it
    embed_stock(db, provider)
    for text in ("vocês têm picape a diesel?", "qual o horário no sábado?"):
        generate_embedding(db, provider, EmbeddingKind.MESSAGE, [text])


def test_search_answers_with_the_nearest_cars_and_past_messages(web_client, embedded_stock) -> None:
    response = web_client.get(
        "/api/search", params={"q": "caminhonete diesel pra fazenda", "limit": 3}, headers=TOKEN
    )

    assert response.status_code == 200
    body = response.json()
    assert body["q"] == "caminhonete diesel pra fazenda" and body["model"] == LOCAL_MODEL
    assert len(body["vehicles"]) == 3
    assert {vehicle["body_type"] for vehicle in body["vehicles"]} == {"pickup"}
    assert body["messages"][0]["text"] == "vocês têm picape a diesel?"
    assert body["vehicles"][0]["score"] >= body["vehicles"][-1]["score"]


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"q": "   "},
        {"q": "x" * 501},
        {"q": "oi\x00"},
        {"q": "oi", "limit": "0"},
        {"q": "oi", "limit": "abc"},
    ],
    ids=["no-q", "blank-q", "long-q", "nul-in-q", "zero-limit", "word-limit"],
)
def test_bad_input_is_a_400_naming_the_parameter(web_client, params: dict[str, str]) -> None:
    response = web_client.get("/api/search", params=params, headers=TOKEN)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_parameter"
    assert ("limit" if "limit" in params else "q") in response.json()["detail"]


def test_search_without_the_admin_token_is_refused(web_client) -> None:
    assert web_client.get("/api/search", params={"q": "corolla"}).status_code == 401
