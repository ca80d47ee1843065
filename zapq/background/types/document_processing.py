"""`document_processing`: a document cut into chunks, embedded, and stored for semantic search.

Chunks end at sentence and paragraph boundaries and overlap (`chunking.py`); they are embedded a
batch at a time, with the task's progress after each batch (also where a cancelled task stops);
then the document's chunks are replaced at once (`chunk_store.py`). So processing a document
again, or a redelivered task, leaves one set of chunks, never two; a task stopped midway leaves
the previous set untouched.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from zapq.background.handlers import TaskContext, register
from zapq.background.types.chunk_store import ChunkEmbedder, ChunkStore, PostgresChunkStore
from zapq.background.types.chunking import chunk_text
from zapq.background.types.embedder import provider_embedder
from zapq.background.types.payloads import decode_payload
from zapq.background.types.retries import retry_policy

TASK_TYPE = "document_processing"
#: Chunks per call to the embeddings provider, and so per progress step.
EMBED_BATCH = 32
#: Before the first batch: the document is chunked. After the last: the chunks are stored.
CHUNKED_AT, EMBEDDED_AT = 0.05, 0.95
MAX_CONTENT_CHARS = 2_000_000


class DocumentProcessingPayload(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    document_id: Annotated[
        str,
        Meta(
            min_length=1,
            max_length=200,
            description="The document's id in the organisation: processing it again replaces its chunks.",
        ),
    ]
    content: Annotated[
        str, Meta(min_length=1, max_length=MAX_CONTENT_CHARS, description="The document's text.")
    ]
    chunk_size: Annotated[
        int, Meta(ge=50, le=20_000, description="Largest chunk, in characters (a longer word stands alone).")
    ] = 1000
    chunk_overlap: Annotated[
        Annotated[int, Meta(ge=0)] | None,
        Meta(
            description="Characters a chunk repeats from the end of the one before; at most half of"
            " chunk_size. Unset: a fifth of chunk_size.",
        ),
    ] = None

    def __post_init__(self) -> None:
        if not self.content.strip():
            raise ValueError("content has no text, only whitespace")
        if self.chunk_overlap is not None and self.chunk_overlap * 2 > self.chunk_size:
            raise ValueError(
                f"chunk_overlap ({self.chunk_overlap}) is more than half of chunk_size ({self.chunk_size})"
            )

    @property
    def overlap(self) -> int:
        return self.chunk_size // 5 if self.chunk_overlap is None else self.chunk_overlap


@register(TASK_TYPE, retry=retry_policy(TASK_TYPE))
def process_document(context: TaskContext, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Chunk, embed and store the document with the embeddings provider and PostgreSQL."""
    from zapq.db.connection import connect

    request = decode_payload(payload, DocumentProcessingPayload)
    embedder = provider_embedder()
    with connect() as connection:
        return index_document(context, request, embedder, PostgresChunkStore(connection))


def index_document(
    context: TaskContext, request: DocumentProcessingPayload, embedder: ChunkEmbedder, store: ChunkStore
) -> dict[str, Any]:
    """The task's work, given where vectors come from and where chunks go."""
    chunks = chunk_text(request.content, request.chunk_size, request.overlap)
    context.progress(CHUNKED_AT, f"{len(chunks)} chunks of at most {request.chunk_size} characters")
    vectors: list[list[float]] = []
    for first in range(0, len(chunks), EMBED_BATCH):
        batch = chunks[first : first + EMBED_BATCH]
        embedded = embedder.embed([chunk.text for chunk in batch])
        if len(embedded) != len(batch):
            raise RuntimeError(
                f"the embeddings provider returned {len(embedded)} vectors for {len(batch)} texts"
            )
        vectors.extend(embedded)
        done = len(vectors)
        context.progress(
            CHUNKED_AT + (EMBEDDED_AT - CHUNKED_AT) * done / len(chunks),
            f"embedded {done}/{len(chunks)} chunks",
        )
    dimensions = {len(vector) for vector in vectors}
    if len(dimensions) > 1:
        raise RuntimeError(f"the embeddings provider returned vectors of {sorted(dimensions)} dimensions")
    # The last cancellation check: once stored, the chunks are the document's and the task is done.
    context.progress(EMBEDDED_AT, f"storing {len(chunks)} chunks")
    replaced = store.replace_chunks(
        request.document_id, context.organization_id, chunks, vectors, model=embedder.model
    )
    context.log(f"document {request.document_id}: {len(chunks)} chunks stored, {replaced} replaced")
    return {
        "document_id": request.document_id,
        "characters": len(request.content),
        "chunks": len(chunks),
        "chunk_size": request.chunk_size,
        "chunk_overlap": request.overlap,
        "chunks_replaced": replaced,
        "embedding_model": embedder.model,
        "dimensions": dimensions.pop() if dimensions else 0,
    }
