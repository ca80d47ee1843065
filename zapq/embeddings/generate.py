"""Embed a text once and keep its vector: the work of `generate_embeddings`, callable without a broker."""

from __future__ import annotations

from collections.abc import Sequence

import psycopg

from zapq.embeddings.providers import EmbeddingProvider, embed_parts
from zapq.embeddings.store import has_embedding, store_embedding, vehicles_missing_embeddings
from zapq.embeddings.texts import EmbeddingKind, content_hash, normalise_text, vehicle_parts


def generate_embedding(
    connection: psycopg.Connection, provider: EmbeddingProvider, kind: EmbeddingKind, parts: Sequence[str]
) -> bool:
    """Embed `parts` (averaged) and store the vector, unless this text already has one in this model.

    True when the model ran. The row keeps the first part as its text: the message, the car's card.
    """
    texts = [normalise_text(part) for part in parts]
    digest = content_hash(kind, texts)
    if not any(texts) or has_embedding(connection, provider.model, kind, digest):
        return False
    store_embedding(connection, provider.model, kind, digest, texts[0], embed_parts(provider, texts))
    return True


def embed_stock(connection: psycopg.Connection, provider: EmbeddingProvider) -> int:
    """Embed, in this process, every car whose text has no vector yet; return how many were embedded."""
    return sum(
        generate_embedding(connection, provider, EmbeddingKind.VEHICLE, vehicle_parts(vehicle))
        for vehicle in vehicles_missing_embeddings(connection, provider.model)
    )
