"""Embedding providers: the local model (the default) or an OpenAI-compatible API, chosen by settings.

A provider turns texts into L2-normalised float32 rows. Its `model` names the vector space: vectors
of different models never meet in one search, so the `embeddings` table keys on it.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from zapq.settings import Settings

Vectors = npt.NDArray[np.float32]


class EmbeddingsError(RuntimeError):
    """The provider refused the texts or was unreachable after every attempt."""


class EmbeddingProvider(Protocol):
    model: str

    def embed(self, texts: Sequence[str], *, query: bool = False) -> Vectors:
        """One L2-normalised row per text. `query` marks a search query (asymmetric models)."""
        ...


def embed_parts(provider: EmbeddingProvider, parts: Sequence[str]) -> Vectors:
    """One vector for a text of several parts: the mean of theirs, so scores stay cosines on average."""
    vectors = provider.embed(list(parts))
    return np.asarray(vectors.mean(axis=0), dtype=np.float32)


def normalised_rows(vectors: npt.ArrayLike) -> Vectors:
    rows = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return np.asarray(rows / np.where(norms == 0, 1, norms), dtype=np.float32)


_building = threading.Lock()


def build_provider(settings: Settings) -> EmbeddingProvider:
    """The provider settings name, built once per process and settings (the local model loads once)."""
    with _building:
        if settings.embeddings_provider.strip().lower() == "openai":
            return _openai_provider(
                settings.embeddings_base_url, settings.embeddings_api_key, settings.embeddings_model,
                settings.embeddings_timeout_s, settings.embeddings_batch_size,
            )  # fmt: skip
        return _local_provider(settings.embeddings_local_threads)


def provider_model(settings: Settings) -> str:
    """The `model` the configured provider stores vectors under, without building it."""
    if settings.embeddings_provider.strip().lower() == "openai":
        return settings.embeddings_model
    from zapq.embeddings.local import LOCAL_MODEL

    return LOCAL_MODEL


@functools.cache
def _local_provider(threads: int) -> EmbeddingProvider:
    from zapq.embeddings.local import LocalE5

    return LocalE5(threads=threads)


@functools.lru_cache(maxsize=8)
def _openai_provider(
    base_url: str, api_key: str, model: str, timeout_s: float, batch_size: int
) -> EmbeddingProvider:
    from zapq.embeddings.openai_compatible import OpenAICompatibleEmbeddings

    return OpenAICompatibleEmbeddings(
        base_url=base_url, api_key=api_key, model=model, timeout_s=timeout_s, batch_size=batch_size
    )
