"""The `openai` provider: `POST {base_url}/embeddings`, as OpenAI and OpenRouter serve it.

Texts go in batches of `batch_size`; each request has a timeout and is retried, with backoff, on
429, 5xx, a timeout or a dropped connection (honouring `Retry-After` up to a cap). Any other answer
is final: a wrong key or model does not get better by asking again.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence

import httpx
import msgspec
import numpy as np

from zapq.embeddings.providers import EmbeddingsError, Vectors, normalised_rows

ATTEMPTS = 4
MIN_BACKOFF_S = 0.5
MAX_BACKOFF_S = 8.0


class _Item(msgspec.Struct):
    embedding: list[float]
    index: int


class _Answer(msgspec.Struct):
    data: list[_Item]


class OpenAICompatibleEmbeddings:
    def __init__(
        self, *, base_url: str, api_key: str, model: str, timeout_s: float, batch_size: int,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:  # fmt: skip
        self.model = model
        self.url = base_url.rstrip("/") + "/embeddings"
        self.batch_size = batch_size
        self._sleep = sleep
        self._http = httpx.Client(
            timeout=timeout_s,
            headers={"authorization": f"Bearer {api_key}", "content-type": "application/json"},
            limits=httpx.Limits(max_connections=8),
        )

    def embed(self, texts: Sequence[str], *, query: bool = False) -> Vectors:
        rows: list[Vectors] = []
        for start in range(0, len(texts), self.batch_size):
            rows.append(self._embed_batch(list(texts[start : start + self.batch_size])))
        if not rows:
            return np.zeros((0, 0), dtype=np.float32)
        widths = {batch.shape[1] for batch in rows}
        if len(widths) != 1:
            raise EmbeddingsError(f"{self.url} answered vectors of different lengths: {sorted(widths)}")
        return np.vstack(rows)

    def _embed_batch(self, texts: list[str]) -> Vectors:
        body = msgspec.json.encode({"model": self.model, "input": texts, "encoding_format": "float"})
        for attempt in range(1, ATTEMPTS + 1):
            try:
                response = self._http.post(self.url, content=body)
            except (httpx.TimeoutException, httpx.TransportError) as error:
                failure = f"{type(error).__name__}: {error}"
                wait_s = self._backoff_s(attempt, None)
            else:
                if response.status_code == 200:
                    return self._vectors(response.content, len(texts))
                failure = f"HTTP {response.status_code}: {response.text[:200]}"
                if response.status_code != 429 and response.status_code < 500:
                    raise EmbeddingsError(f"{self.url} refused the texts: {failure}")
                wait_s = self._backoff_s(attempt, response.headers.get("retry-after"))
            if attempt == ATTEMPTS:
                raise EmbeddingsError(f"{self.url} failed {ATTEMPTS} times; last: {failure}")
            self._sleep(wait_s)
        raise AssertionError("unreachable")

    def _vectors(self, content: bytes, count: int) -> Vectors:
        try:
            items = msgspec.json.decode(content, type=_Answer).data
        except msgspec.DecodeError as error:
            raise EmbeddingsError(f"{self.url} answered no embeddings list: {error}") from None
        if sorted(item.index for item in items) != list(range(count)):
            raise EmbeddingsError(f"{self.url} answered {len(items)} embeddings for {count} texts")
        ordered = sorted(items, key=lambda item: item.index)
        if len({len(item.embedding) for item in ordered}) != 1 or not ordered[0].embedding:
            raise EmbeddingsError(f"{self.url} answered empty or uneven vectors")
        return normalised_rows([item.embedding for item in ordered])

    @staticmethod
    def _backoff_s(attempt: int, retry_after: str | None) -> float:
        if retry_after is not None:
            try:
                return min(max(float(retry_after), 0.0), MAX_BACKOFF_S)
            except ValueError:
                pass  # an HTTP date: fall back to our own backoff
        return min(MAX_BACKOFF_S, MIN_BACKOFF_S * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0)
