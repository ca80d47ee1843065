"""The OpenAI-compatible provider against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.http_peer import CannedResponse, HttpPeer, RecordedRequest
from zapq.embeddings.openai_compatible import ATTEMPTS, EmbeddingsError, OpenAICompatibleEmbeddings


def _answer(request: RecordedRequest) -> CannedResponse:
    inputs = request.json()["input"]
    # Out of order, as the API allows: `index` says which text each vector is for.
    data = [{"index": i, "embedding": [float(len(t)), 1.0, 0.0]} for i, t in enumerate(inputs)]
    return CannedResponse(body={"object": "list", "data": list(reversed(data))})


def _provider(
    peer: HttpPeer, *, batch_size: int = 2, timeout_s: float = 2.0
) -> tuple[OpenAICompatibleEmbeddings, list[float]]:
    waits: list[float] = []
    provider = OpenAICompatibleEmbeddings(
        base_url=f"{peer.url}/v1/", api_key="sk-test", model="text-embedding-3-small",
        timeout_s=timeout_s, batch_size=batch_size, sleep=waits.append,
    )  # fmt: skip
    return provider, waits


def test_texts_go_in_batches_with_the_key_and_model_and_come_back_in_order(http_peer: HttpPeer) -> None:
    http_peer.responder = _answer
    provider, _ = _provider(http_peer, batch_size=2)

    vectors = provider.embed(["a", "bb", "ccc", "dddd", "eeeee"])

    requests = http_peer.received("/v1/embeddings")
    assert [request.json()["input"] for request in requests] == [["a", "bb"], ["ccc", "dddd"], ["eeeee"]]
    assert {request.headers["authorization"] for request in requests} == {"Bearer sk-test"}
    assert {request.json()["model"] for request in requests} == {"text-embedding-3-small"}
    expected = np.array([[n, 1.0, 0.0] for n in range(1, 6)]) / np.sqrt(np.arange(1, 6) ** 2 + 1)[:, None]
    assert np.allclose(vectors, expected, atol=1e-6)


def test_429_and_5xx_are_retried_honouring_retry_after(http_peer: HttpPeer) -> None:
    http_peer.enqueue(
        CannedResponse(429, {"error": {"message": "rate limited"}}),
        CannedResponse(503, {"error": {"message": "overloaded"}}),
    )
    http_peer.responder = None
    provider, waits = _provider(http_peer)
    http_peer.default = _answer(RecordedRequest("POST", "/", {}, b'{"input": ["oi"]}'))

    assert provider.embed(["oi"]).shape == (1, 3)
    assert len(http_peer.received("/v1/embeddings")) == 3
    assert len(waits) == 2 and all(0 < wait <= 8 for wait in waits)


def test_a_request_slower_than_the_timeout_is_retried(http_peer: HttpPeer) -> None:
    http_peer.enqueue(CannedResponse(200, {}, delay_s=1.0))
    http_peer.default = _answer(RecordedRequest("POST", "/", {}, b'{"input": ["oi"]}'))
    provider, waits = _provider(http_peer, timeout_s=0.3)

    assert provider.embed(["oi"]).shape == (1, 3)
    assert len(waits) == 1


def test_a_provider_that_keeps_failing_raises_after_the_last_attempt(http_peer: HttpPeer) -> None:
    http_peer.default = CannedResponse(502, {"error": "bad gateway"})
    provider, _ = _provider(http_peer)

    with pytest.raises(EmbeddingsError, match="failed 4 times; last: HTTP 502"):
        provider.embed(["oi"])
    assert len(http_peer.received("/v1/embeddings")) == ATTEMPTS


def test_a_refusal_such_as_a_wrong_key_is_not_retried(http_peer: HttpPeer) -> None:
    http_peer.default = CannedResponse(401, {"error": {"message": "invalid api key"}})
    provider, waits = _provider(http_peer)

    with pytest.raises(EmbeddingsError, match="refused the texts: HTTP 401"):
        provider.embed(["oi"])
    assert len(http_peer.received("/v1/embeddings")) == 1 and waits == []


def test_an_answer_with_too_few_vectors_is_an_error(http_peer: HttpPeer) -> None:
    http_peer.default = CannedResponse(200, {"data": [{"index": 0, "embedding": [1.0, 0.0]}]})
    provider, _ = _provider(http_peer)

    with pytest.raises(EmbeddingsError, match="1 embeddings for 2 texts"):
        provider.embed(["oi", "tchau"])
