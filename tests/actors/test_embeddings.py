"""`generate_embeddings` on a real broker and worker: each text embedded once, whatever the sends.

The provider here is the OpenAI-compatible one, pointed at an HTTP server on 127.0.0.1, so the
test counts what reached the model. The local model's own behaviour is in tests/zapq/embeddings.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import psycopg
import pytest
import redis

from actors.embeddings import embed_new_vehicles, request_embedding
from tests.support.http_peer import CannedResponse, HttpPeer, RecordedRequest
from tests.support.whatsapp import post_messages, text
from zapq.embeddings.texts import EmbeddingKind
from zapq.settings import get_settings


def _vector(text: str) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    return [byte / 255 - 0.5 for byte in digest[:8]]


def _embeddings_api(request: RecordedRequest) -> CannedResponse:
    inputs = request.json()["input"]
    return CannedResponse(
        body={"data": [{"index": i, "embedding": _vector(t)} for i, t in enumerate(inputs)]}
    )


@pytest.fixture
def embeddings_api(settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[HttpPeer]:  # type: ignore[no-untyped-def]
    """An embeddings API on 127.0.0.1 of its own (the Graph API stand-in may hold `http_peer`)."""
    peer = HttpPeer().start()
    peer.responder = _embeddings_api
    monkeypatch.setenv("EMBEDDINGS_PROVIDER", "openai")
    monkeypatch.setenv("EMBEDDINGS_BASE_URL", f"{peer.url}/v1")
    monkeypatch.setenv("EMBEDDINGS_API_KEY", "test-embeddings-key")
    monkeypatch.setenv("EMBEDDINGS_MODEL", "test-embedder")
    get_settings.cache_clear()
    yield peer
    peer.stop()


def _embedded_texts(embeddings_api: HttpPeer) -> list[str]:
    return [text for request in embeddings_api.received("/v1/embeddings") for text in request.json()["input"]]


def test_the_same_text_sent_five_times_is_embedded_once(
    embeddings_api: HttpPeer, broker, worker, db: psycopg.Connection, wait_until
) -> None:
    for _ in range(5):
        request_embedding(EmbeddingKind.MESSAGE, ["tem  SUV 7 lugares?"])  # spacing is normalised away

    wait_until(lambda: db.execute("SELECT count(*) FROM embeddings").fetchone()[0] == 1, timeout=15)
    broker.join("low_priority", timeout=10_000)
    worker.join()
    assert _embedded_texts(embeddings_api) == ["tem SUV 7 lugares?"]
    assert db.execute("SELECT kind, model, text, dims FROM embeddings").fetchall() == [
        ("message", "test-embedder", "tem SUV 7 lugares?", 8)
    ]


def test_a_text_sent_again_after_the_dedup_window_is_not_embedded_again(
    embeddings_api: HttpPeer, broker, worker, db: psycopg.Connection, redis_client: redis.Redis, wait_until
) -> None:
    request_embedding(EmbeddingKind.MESSAGE, ["aceita troca?"])
    wait_until(lambda: db.execute("SELECT count(*) FROM embeddings").fetchone()[0] == 1, timeout=15)
    broker.join("low_priority", timeout=10_000)
    redis_client.flushdb()  # Redis forgot the text, as it does when the hour is over

    assert request_embedding(EmbeddingKind.MESSAGE, ["aceita troca?"])
    broker.join("low_priority", timeout=10_000)
    worker.join()
    assert _embedded_texts(embeddings_api) == ["aceita troca?"]  # the table's key caught it


def test_the_catch_up_scan_embeds_every_car_and_a_changed_description_again(
    embeddings_api: HttpPeer, broker, worker, db: psycopg.Connection, inventory: int, wait_until
) -> None:
    available = db.execute("SELECT count(*) FROM vehicles WHERE status <> 'sold'").fetchone()[0]
    embed_new_vehicles.send()
    wait_until(
        lambda: (
            db.execute("SELECT count(*) FROM embeddings WHERE kind = 'vehicle'").fetchone()[0] == available
        ),
        timeout=30,
    )
    db.execute("UPDATE vehicles SET description = 'Picape valente, revisada' WHERE stock_code = 'ZQ-0026'")

    embed_new_vehicles.send()
    wait_until(
        lambda: (
            db.execute("SELECT count(*) FROM embeddings WHERE kind = 'vehicle'").fetchone()[0]
            == available + 1
        ),
        timeout=15,
    )
    broker.join("low_priority", timeout=10_000)
    worker.join()
    assert len(_embedded_texts(embeddings_api)) == 2 * (available + 1)  # a card and a description each


def test_a_customers_text_message_is_embedded_after_the_burst_is_answered(
    embeddings_api: HttpPeer, whatsapp, worker, graph_api, inventory, db: psycopg.Connection, wait_until
) -> None:
    assert (
        post_messages(whatsapp, text("wamid.e1", "quero um carro econômico pra família")).status_code == 200
    )

    wait_until(
        lambda: (
            db.execute("SELECT text FROM embeddings WHERE kind = 'message'").fetchall()
            == [("quero um carro econômico pra família",)]
        ),
        timeout=20,
    )
