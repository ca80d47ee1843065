"""The `embeddings` table (migration 0011): one vector per model, kind and content hash."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import psycopg

from zapq.conversation.vehicle import Vehicle
from zapq.embeddings.providers import Vectors
from zapq.embeddings.texts import EmbeddingKind, content_hash, vehicle_parts

_VEHICLE_COLUMNS = (
    "id, make, model, trim_level, year, price, colour, body_type, status,"
    " transmission, fuel, km, seats, description"
)


def has_embedding(connection: psycopg.Connection, model: str, kind: EmbeddingKind, digest: bytes) -> bool:
    row = connection.execute(
        "SELECT 1 FROM embeddings WHERE model = %s AND kind = %s AND content_hash = %s",
        (model, str(kind), digest),
    ).fetchone()
    return row is not None


def store_embedding(
    connection: psycopg.Connection, model: str, kind: EmbeddingKind, digest: bytes, text: str, vector: Vectors
) -> bool:
    """Keep a vector; False when this text already had one (a redelivery, or a race that lost)."""
    little_endian = np.asarray(vector, dtype="<f4")
    cursor = connection.execute(
        "INSERT INTO embeddings (model, kind, content_hash, text, dims, vector)"
        " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (model, kind, content_hash) DO NOTHING",
        (model, str(kind), digest, text, little_endian.size, little_endian.tobytes()),
    )
    return cursor.rowcount == 1


def vectors_by_hash(
    connection: psycopg.Connection, model: str, kind: EmbeddingKind, digests: Sequence[bytes]
) -> dict[bytes, Vectors]:
    rows = connection.execute(
        "SELECT content_hash, vector FROM embeddings"
        " WHERE model = %s AND kind = %s AND content_hash = ANY(%s)",
        (model, str(kind), list(digests)),
    ).fetchall()
    return {bytes(digest): decode_vector(vector) for digest, vector in rows}


def embeddings_after(
    connection: psycopg.Connection, model: str, kind: EmbeddingKind, after_id: int, limit: int
) -> list[tuple[int, str, bytes]]:
    """(id, text, vector bytes) of the rows added after `after_id`, oldest first: search loads these."""
    rows = connection.execute(
        "SELECT id, text, vector FROM embeddings"
        " WHERE model = %s AND kind = %s AND id > %s ORDER BY id LIMIT %s",
        (model, str(kind), after_id, limit),
    ).fetchall()
    return [(int(row_id), str(text), bytes(vector)) for row_id, text, vector in rows]


def decode_vector(raw: bytes | memoryview) -> Vectors:
    return np.frombuffer(bytes(raw), dtype="<f4").astype(np.float32)


def searchable_vehicles(connection: psycopg.Connection) -> list[Vehicle]:
    """Every car a customer could be shown: available, as the inventory's search shows them."""
    rows = connection.execute(
        f"SELECT {_VEHICLE_COLUMNS} FROM vehicles WHERE status = 'available' ORDER BY id"
    ).fetchall()
    return [Vehicle(*row) for row in rows]


def vehicles_missing_embeddings(connection: psycopg.Connection, model: str) -> list[Vehicle]:
    """Cars not sold whose current text has no vector in `model`: new, or changed since embedded."""
    rows = connection.execute(f"SELECT {_VEHICLE_COLUMNS} FROM vehicles WHERE status <> 'sold' ORDER BY id")
    vehicles = [Vehicle(*row) for row in rows.fetchall()]
    digests = [content_hash(EmbeddingKind.VEHICLE, vehicle_parts(vehicle)) for vehicle in vehicles]
    have = _existing(connection, model, EmbeddingKind.VEHICLE, digests)
    return [vehicle for vehicle, digest in zip(vehicles, digests, strict=True) if digest not in have]


def _existing(
    connection: psycopg.Connection, model: str, kind: EmbeddingKind, digests: Iterable[bytes]
) -> set[bytes]:
    rows = connection.execute(
        "SELECT content_hash FROM embeddings WHERE model = %s AND kind = %s AND content_hash = ANY(%s)",
        (model, str(kind), list(digests)),
    ).fetchall()
    return {bytes(row[0]) for row in rows}
