"""Embeddings for semantic search, on low_priority: a customer's reply never waits for them.

`generate_embeddings` embeds one text once: the flow-control `dedup` option drops a copy of a text
sent within the hour (at send, or when it reaches a worker), and the `embeddings` table's unique key
(model, kind, content hash) catches the rest, checked before the model runs. `embed_new_vehicles`
is the catch-up scan: every five minutes (and after `make seed`) it sends the cars whose current
text has no vector, so a new or re-described car is searchable by meaning within minutes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import dramatiq
import psycopg

from middleware.errors import DuplicateMessage
from schedules import VEHICLE_EMBEDDINGS_SCAN
from zapq.embeddings.texts import EmbeddingKind, content_hash, normalise_text
from zapq.queues import LOW_PRIORITY, PRIORITY

logger = logging.getLogger(__name__)

#: Within this window a copy is dropped by Redis alone; after it, by the table's unique key.
EMBEDDING_DEDUP_MS = 3_600_000


def embedding_key(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """`kind:sha256` of the text: the dedup key, the same in every process that sends."""
    kind = args[0] if args else kwargs["kind"]
    parts = args[1] if len(args) > 1 else kwargs["parts"]
    return f"{kind}:{content_hash(kind, parts).hex()}"


@dramatiq.actor(
    queue_name=LOW_PRIORITY,
    priority=PRIORITY[LOW_PRIORITY],
    dedup=EMBEDDING_DEDUP_MS,
    dedup_key=embedding_key,
)
def generate_embeddings(kind: str, parts: list[str]) -> None:
    """Embed a text of `kind` (message, vehicle, document_chunk) once; `parts` are embedded and averaged."""
    # Worker-only code, imported here: the web imports this module only to send to the actor.
    from zapq import metrics
    from zapq.db.connection import thread_connection
    from zapq.embeddings.generate import generate_embedding
    from zapq.embeddings.providers import build_provider
    from zapq.settings import get_settings

    provider = build_provider(get_settings())
    ran = generate_embedding(thread_connection(), provider, EmbeddingKind(kind), parts)
    metrics.embeddings().labels(kind, "embedded" if ran else "already_stored").inc()


def request_embedding(kind: EmbeddingKind, parts: Sequence[str]) -> bool:
    """Send a text to `generate_embeddings`; False when it is empty or a copy was already handled."""
    texts = [normalise_text(part) for part in parts]
    if not any(texts):
        return False
    try:
        generate_embeddings.send(str(kind), texts)
    except DuplicateMessage:
        return False
    return True


def embed_inbound_texts(messages: Sequence[dict[str, Any]]) -> int:
    """Send the text of a burst's text messages (as `process_message` received them); return how many."""
    return sum(
        request_embedding(EmbeddingKind.MESSAGE, [message["text"]])
        for message in messages
        if message.get("kind") == "text" and isinstance(message.get("text"), str)
    )


@dramatiq.actor(queue_name=LOW_PRIORITY, priority=PRIORITY[LOW_PRIORITY], periodic=VEHICLE_EMBEDDINGS_SCAN)
def embed_new_vehicles() -> None:
    """Send every car whose current text has no embedding (new, or its description changed)."""
    from zapq.db.connection import thread_connection
    from zapq.embeddings.providers import provider_model
    from zapq.settings import get_settings

    model = provider_model(get_settings())
    sent = queue_vehicle_embeddings(thread_connection(), model)
    if sent:
        logger.info("sent %d car(s) to generate_embeddings", sent)


def queue_vehicle_embeddings(connection: psycopg.Connection, model: str) -> int:
    """Send the cars of `connection`'s stock that have no vector in `model`; return how many."""
    from zapq.embeddings.store import vehicles_missing_embeddings
    from zapq.embeddings.texts import vehicle_parts

    return sum(
        request_embedding(EmbeddingKind.VEHICLE, vehicle_parts(vehicle))
        for vehicle in vehicles_missing_embeddings(connection, model)
    )
