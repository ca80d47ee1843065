"""The embeddings provider, as `document_processing` reaches it: the one semantic search uses.

`EMBEDDINGS_PROVIDER` picks it (zapq.embeddings.providers: the local multilingual model by default,
or an OpenAI-compatible API), so a document's chunks live in the same vector space as the stock and
the customers' messages. Built once per process (the local model loads once).
"""

from __future__ import annotations

from collections.abc import Sequence

from zapq.embeddings.providers import EmbeddingProvider, build_provider
from zapq.settings import get_settings


class ProviderEmbedder:
    """`ChunkEmbedder` over an `EmbeddingProvider`: plain lists of floats for PostgreSQL's real[]."""

    def __init__(self, provider: EmbeddingProvider) -> None:
        self.provider = provider

    @property
    def model(self) -> str:
        return self.provider.model

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return [[float(value) for value in row] for row in self.provider.embed(list(texts))]


def provider_embedder() -> ProviderEmbedder:
    """The configured embeddings provider."""
    return ProviderEmbedder(build_provider(get_settings()))
