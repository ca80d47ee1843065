"""The embeddings provider, as `document_processing` reaches it: imported when a task needs it.

The provider lives in `zapq.embeddings` (issue #12's analytics-and-embeddings work). An installation
without it fails each document task for good, with a message saying so, rather than retrying a
task that cannot succeed.
"""

from __future__ import annotations

import importlib

from zapq.background.handlers import PermanentTaskError
from zapq.background.types.chunk_store import ChunkEmbedder

PROVIDER_MODULE = "zapq.embeddings"
PROVIDER_FACTORY = "get_provider"


def provider_embedder() -> ChunkEmbedder:
    """The configured embeddings provider (`zapq.embeddings.get_provider()`)."""
    try:
        module = importlib.import_module(PROVIDER_MODULE)
    except ImportError as error:
        raise PermanentTaskError(
            f"document_processing needs the embeddings provider ({PROVIDER_MODULE}), which this"
            f" installation lacks: {error}"
        ) from None
    factory = getattr(module, PROVIDER_FACTORY, None)
    if factory is None:
        raise PermanentTaskError(f"{PROVIDER_MODULE} has no {PROVIDER_FACTORY}(): the provider is not wired")
    provider: ChunkEmbedder = factory()
    return provider
