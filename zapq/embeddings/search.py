"""Semantic search, as the rules engine and the admin API call it.

`similar_vehicles` and `similar_messages` rank by meaning alone; `keyword_vehicles` by the words
alone (the baseline); `hybrid_vehicles` combines both, which is what answers a customer best: on
the labelled set (bench/search_queries.py) it loses no exact query ("corolla", "picape diesel") and
finds more of the vague ones ("carro econômico pra família") than either half. It also reads
"parecido com o Compass, mas mais barato": the named car's own vector is the query, the car itself
is left out and, when asked, only cheaper ones are kept.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import psycopg

from zapq.conversation.vehicle import Vehicle
from zapq.embeddings.index import MessageIndex, VehicleIndex, VehicleSnapshot
from zapq.embeddings.keyword import words
from zapq.embeddings.providers import EmbeddingProvider, Vectors
from zapq.embeddings.texts import fold, normalise_text

#: How much a full keyword match counts against one standard deviation of semantic score.
KEYWORD_WEIGHT = 2.0
MAX_QUERY_CHARS = 500
_RECENT_QUERIES = 16

_LIKE = re.compile(r"\b(parecid[oa]s?|semelhantes?|similar(es)?|tipo|estilo|igual|lembra|como)\b")
_CHEAPER = re.compile(r"\b(mais (barat[oa]s?|em conta|acessivel)|menos car[oa]|mais economico no preco)\b")

Scored = list[tuple[int, float]]


class SemanticSearch:
    """Search over the stock and the customers' past messages, in one provider's vector space.

    `connection_factory` returns a connection for one call (never closed here); the indexes may be
    shared by every search of a process, so vectors are loaded once, not per call.
    """

    def __init__(
        self, provider: EmbeddingProvider, connection_factory: Callable[[], psycopg.Connection], *,
        vehicles: VehicleIndex | None = None, messages: MessageIndex | None = None,
    ) -> None:  # fmt: skip
        self.provider = provider
        self.connection_factory = connection_factory
        self.vehicle_index = vehicles or VehicleIndex()
        self.message_index = messages or MessageIndex()
        self._recent: dict[str, Vectors] = {}

    def similar_vehicles(self, text: str, limit: int = 5) -> Scored:
        """Available cars nearest in meaning to `text`, best first, as (vehicle_id, cosine)."""
        snapshot = self._vehicles()
        scores = np.where(snapshot.embedded, snapshot.vectors @ self._query(text), -np.inf)
        return _top(snapshot, scores, limit)

    def keyword_vehicles(self, text: str, limit: int = 5) -> Scored:
        """Available cars sharing words with `text` (BM25), best first; none when no word matches."""
        snapshot = self._vehicles()
        scores = snapshot.keyword.scores(_query_text(text))
        return _top(snapshot, np.where(scores > 0, scores, -np.inf), limit)

    def hybrid_vehicles(self, text: str, limit: int = 5) -> Scored:
        """Cars for a customer's request, by meaning and by the words they typed (the ranking to use)."""
        snapshot = self._vehicles()
        query = self._query(text)
        named = _named_vehicles(snapshot, text) if _LIKE.search(fold(text)) else []
        named = [position for position in named if snapshot.embedded[position]]
        if named:
            cheaper = bool(_CHEAPER.search(fold(text)))
            return self._like_named(snapshot, query, named, cheaper=cheaper, limit=limit)
        return _top(snapshot, hybrid_scores(snapshot, query, text), limit)

    def similar_messages(self, text: str, limit: int = 5) -> list[tuple[str, float]]:
        """Past customer messages nearest in meaning to `text`, best first, as (text, cosine)."""
        texts, vectors = self.message_index.refresh(self.connection_factory(), self.provider.model)
        if not texts:
            return []
        scores = vectors @ self._query(text)
        count = min(limit, len(texts))
        best = np.argpartition(-scores, count - 1)[:count]
        best = best[np.argsort(-scores[best], kind="stable")]
        return [(texts[position], float(scores[position])) for position in best]

    def vehicles_by_id(self, vehicle_ids: list[int]) -> list[Vehicle]:
        """The cars a ranking named, as the last refresh read them, in the same order."""
        snapshot = self._vehicles()
        return [snapshot.vehicles[snapshot.position[vehicle_id]] for vehicle_id in vehicle_ids]

    def _like_named(
        self, snapshot: VehicleSnapshot, query: Vectors, named: list[int], *, cheaper: bool, limit: int
    ) -> Scored:
        reference = snapshot.vectors[named].mean(axis=0)
        scores = np.where(snapshot.embedded, snapshot.vectors @ (reference + query), -np.inf)
        scores[named] = -np.inf
        if cheaper:
            scores[snapshot.prices >= snapshot.prices[named].min()] = -np.inf
        return _top(snapshot, scores, limit)

    def _vehicles(self) -> VehicleSnapshot:
        return self.vehicle_index.snapshot(self.connection_factory(), self.provider.model)

    def _query(self, text: str) -> Vectors:
        """The query's vector; the last few are kept, so ranking cars and messages embeds it once."""
        query = _query_text(text)
        vector = self._recent.get(query)
        if vector is None:
            vector = self._recent[query] = self.provider.embed([query], query=True)[0]
            while len(self._recent) > _RECENT_QUERIES:
                self._recent.pop(next(iter(self._recent)), None)
        return vector


def hybrid_scores(snapshot: VehicleSnapshot, vector: Vectors, text: str) -> npt.NDArray[np.float64]:
    """Every car's score for `text` (whose vector is `vector`): semantic z-score plus the keyword share.

    Relative to the stock, so comparable across texts and models, where a raw e5 cosine is not.
    """
    semantic = np.where(snapshot.embedded, snapshot.vectors @ vector, -np.inf)
    keyword = snapshot.keyword.scores(_query_text(text))
    return _standardised(semantic) + KEYWORD_WEIGHT * _scaled(keyword)


def _query_text(text: str) -> str:
    query = normalise_text(text)[:MAX_QUERY_CHARS]
    if not query:
        raise ValueError("a search needs some text")
    return query


def _named_vehicles(snapshot: VehicleSnapshot, text: str) -> list[int]:
    """Positions of the cars whose model the text names ("o Compass", "a hilux")."""
    said = " " + " ".join(words(text)) + " "
    return [
        position
        for position, vehicle in enumerate(snapshot.vehicles)
        if (name := " ".join(words(vehicle.model))) and f" {name} " in said
    ]


def _standardised(scores: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    """z-scores; a car not embedded yet gets the lowest, so its keywords alone can still place it."""
    finite = np.isfinite(scores)
    if not finite.any():
        return np.zeros(scores.shape)
    mean, spread = scores[finite].mean(), scores[finite].std() or 1.0
    standard = (scores - mean) / spread
    return np.where(finite, standard, standard[finite].min())


def _scaled(scores: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    top = scores.max() if scores.size else 0.0
    return scores / top if top > 0 else scores


def _top(snapshot: VehicleSnapshot, scores: npt.NDArray[np.floating], limit: int) -> Scored:
    order = np.argsort(-scores, kind="stable")[: max(limit, 0)]
    return [
        (snapshot.vehicles[position].id, float(scores[position]))
        for position in order
        if np.isfinite(scores[position])
    ]
