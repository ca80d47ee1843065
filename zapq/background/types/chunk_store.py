"""Where `document_processing` puts a document's chunks: the protocols, and PostgreSQL's store.

`ChunkEmbedder` turns texts into vectors (the embeddings provider: `embedder.py`); `ChunkStore`
keeps a document's chunks with their vectors, replacing what it had for that document. Vectors are
`real[]`: the cosine search below needs no extension, and the semantic search built on the
embeddings provider can read the same rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import psycopg

from zapq.background.types.chunking import Chunk


class ChunkEmbedder(Protocol):
    @property
    def model(self) -> str:
        """The model's name, stored beside each vector: vectors of two models do not compare."""
        ...

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order, all of one length."""
        ...


class ChunkStore(Protocol):
    def replace_chunks(
        self,
        document_id: str,
        organization_id: str,
        chunks: Sequence[Chunk],
        vectors: Sequence[Sequence[float]],
        *,
        model: str,
    ) -> int:
        """Make `chunks` the document's only chunks, at once; return how many it had before."""
        ...


@dataclass(frozen=True)
class ChunkHit:
    document_id: str
    chunk_index: int
    text: str
    score: float


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class PostgresChunkStore:
    """`document_chunks` (migration 0013)."""

    def __init__(self, connection: psycopg.Connection) -> None:
        self._connection = connection

    def replace_chunks(
        self,
        document_id: str,
        organization_id: str,
        chunks: Sequence[Chunk],
        vectors: Sequence[Sequence[float]],
        *,
        model: str,
    ) -> int:
        if len(chunks) != len(vectors):
            raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors")
        with self._connection.transaction():
            # Two runs for one document (a redelivery beside a resubmission) take turns: otherwise both
            # delete nothing the other can see, and the second insert collides with the first.
            self._connection.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                (f"document_chunks:{organization_id}:{document_id}",),
            )
            removed = self._connection.execute(
                "DELETE FROM document_chunks WHERE organization_id = %s AND document_id = %s",
                (organization_id, document_id),
            ).rowcount
            with self._connection.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO document_chunks (organization_id, document_id, chunk_index, start_offset,"
                    " end_offset, text, content_hash, embedding, embedding_model)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s::real[], %s)",
                    [
                        (organization_id, document_id, chunk.index, chunk.start, chunk.end, chunk.text,
                         content_hash(chunk.text), list(vector), model)
                        for chunk, vector in zip(chunks, vectors, strict=True)
                    ],
                )  # fmt: skip
        return removed

    def search(
        self, organization_id: str, query: Sequence[float], *, model: str, limit: int = 5
    ) -> list[ChunkHit]:
        """The organisation's chunks nearest to `query` by cosine similarity, best first."""
        rows = self._connection.execute(
            "SELECT document_id, chunk_index, text, score FROM ("
            " SELECT document_id, chunk_index, text,"
            "  (SELECT sum(a * b) / nullif(sqrt(sum(a * a)) * sqrt(sum(b * b)), 0)"
            "   FROM unnest(embedding, %(query)s::real[]) AS pair(a, b)) AS score"
            " FROM document_chunks WHERE organization_id = %(organization)s AND embedding_model = %(model)s"
            ") scored ORDER BY score DESC NULLS LAST, document_id, chunk_index LIMIT %(limit)s",
            {"query": list(query), "organization": organization_id, "model": model, "limit": limit},
        ).fetchall()
        return [ChunkHit(row[0], row[1], row[2], float(row[3] or 0.0)) for row in rows]
