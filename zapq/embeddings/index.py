"""The vectors search reads, held in memory as numpy matrices and refreshed from PostgreSQL.

Cars are few (a dealership's stock, a few thousand at most): their index is rebuilt from the
`vehicles` table every `refresh_s`, reusing the vectors it already holds, so a repriced or newly
described car shows up within seconds, and a car whose new text is not embedded yet is still found
by keyword. Messages only grow: their index reads the rows added since the last id it saw. At 384
dimensions a vector is 1.5 KB, so 100,000 messages hold 150 MB in each process that searches them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import psycopg

from zapq.conversation.vehicle import Vehicle
from zapq.embeddings.keyword import KeywordIndex
from zapq.embeddings.providers import Vectors
from zapq.embeddings.store import embeddings_after, searchable_vehicles, vectors_by_hash
from zapq.embeddings.texts import EmbeddingKind, content_hash, vehicle_parts

DEFAULT_REFRESH_S = 5.0
_MESSAGE_PAGE = 20_000


class VehicleSnapshot:
    """The cars available at one refresh: their vectors (a zero row when not embedded yet) and texts."""

    def __init__(self, vehicles: list[Vehicle], vectors: Vectors, embedded: npt.NDArray[np.bool_]) -> None:
        self.vehicles = vehicles
        self.vectors = vectors
        self.embedded = embedded
        self.keyword = KeywordIndex([vehicle_parts(vehicle)[0] for vehicle in vehicles])
        self.prices = np.array([float(vehicle.price) for vehicle in vehicles], dtype=np.float64)
        self.position = {vehicle.id: position for position, vehicle in enumerate(vehicles)}


class VehicleIndex:
    def __init__(self, *, refresh_s: float = DEFAULT_REFRESH_S, clock: Callable[[], float] = time.monotonic):
        self.refresh_s = refresh_s
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: dict[bytes, Vectors] = {}
        self._snapshot: VehicleSnapshot | None = None
        self._model = ""
        self._loaded_at = -float("inf")

    def snapshot(self, connection: psycopg.Connection, model: str) -> VehicleSnapshot:
        with self._lock:
            stale = self._clock() - self._loaded_at >= self.refresh_s
            if self._snapshot is None or model != self._model or stale:
                self._snapshot = self._load(connection, model)
                self._model, self._loaded_at = model, self._clock()
            return self._snapshot

    def _load(self, connection: psycopg.Connection, model: str) -> VehicleSnapshot:
        if model != self._model:
            self._cache.clear()
        vehicles = searchable_vehicles(connection)
        digests = [content_hash(EmbeddingKind.VEHICLE, vehicle_parts(vehicle)) for vehicle in vehicles]
        missing = [digest for digest in digests if digest not in self._cache]
        if missing:
            self._cache.update(vectors_by_hash(connection, model, EmbeddingKind.VEHICLE, missing))
        found = [self._cache.get(digest) for digest in digests]
        dims = next((vector.size for vector in found if vector is not None), 1)
        vectors = np.zeros((len(vehicles), dims), dtype=np.float32)
        embedded = np.zeros(len(vehicles), dtype=bool)
        for position, vector in enumerate(found):
            if vector is not None and vector.size == dims:
                vectors[position], embedded[position] = vector, True
        return VehicleSnapshot(vehicles, vectors, embedded)


class MessageIndex:
    """Every customer message embedded in one model: texts and an (n, dims) matrix."""

    def __init__(self, *, refresh_s: float = DEFAULT_REFRESH_S, clock: Callable[[], float] = time.monotonic):
        self.refresh_s = refresh_s
        self._clock = clock
        self._lock = threading.Lock()
        self._model = ""
        self._last_id = 0
        self._loaded_at = -float("inf")
        self.texts: list[str] = []
        self.vectors: Vectors = np.zeros((0, 1), dtype=np.float32)

    def refresh(self, connection: psycopg.Connection, model: str) -> tuple[list[str], Vectors]:
        """The texts and vectors as of now (or of the last refresh, within `refresh_s`)."""
        with self._lock:
            if model != self._model:
                self._model, self._last_id, self.texts = model, 0, []
                self.vectors = np.zeros((0, 1), dtype=np.float32)
                self._loaded_at = -float("inf")
            if self._clock() - self._loaded_at >= self.refresh_s:
                self._read_new(connection, model)
                self._loaded_at = self._clock()
            return self.texts, self.vectors

    def _read_new(self, connection: psycopg.Connection, model: str) -> None:
        texts: list[str] = []
        chunks: list[Vectors] = []
        while True:
            rows = embeddings_after(connection, model, EmbeddingKind.MESSAGE, self._last_id, _MESSAGE_PAGE)
            if not rows:
                break
            self._last_id = rows[-1][0]
            texts.extend(text for _, text, _ in rows)
            joined = b"".join(vector for _, _, vector in rows)
            chunks.append(np.frombuffer(joined, dtype="<f4").astype(np.float32).reshape(len(rows), -1))
            if len(rows) < _MESSAGE_PAGE:
                break
        if not chunks:
            return
        new = np.vstack(chunks)
        # Copy on write: a search running meanwhile keeps the (texts, vectors) pair it was handed.
        self.vectors = new if len(self.texts) == 0 else np.vstack([self.vectors, new])
        self.texts = self.texts + texts
