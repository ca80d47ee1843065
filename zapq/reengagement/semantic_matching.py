"""New cars by meaning: an arrival close to what a lead described ("um carro que não gaste gasolina").

The criteria matcher reads makes, models, budgets and bodies; a lead who described a need names
none of them. `SemanticMatcher` compares each of the lead's car-seeking messages with each
arrival, scored as semantic search ranks the stock (`embeddings.search.hybrid_scores`: the
semantic z-score over the available cars plus the keyword share), and offers an arrival scoring
`MATCH_THRESHOLD` or more for a message sent before it arrived. Greetings, questions and anything
else that asks for no car (`vague_requests.describes_a_need`, `compares_with_a_car`) count for
nothing, so a lead who only said "oi, tudo bem?" is offered no car by meaning.

Vectors come from the `embeddings` table (inbound messages are embedded after each burst, cars
by the catch-up scan); a text without one is embedded here, at most `max_embeddings` texts per
scan, and stored, so it is embedded once. A failing provider costs only the texts not stored yet:
it is logged once per scan and matching goes on with the stored vectors.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import psycopg

from zapq.conversation.reading import fold
from zapq.conversation.vague_requests import compares_with_a_car, describes_a_need
from zapq.embeddings.index import VehicleIndex, VehicleSnapshot
from zapq.embeddings.providers import EmbeddingProvider, Vectors, embed_parts
from zapq.embeddings.search import hybrid_scores
from zapq.embeddings.store import store_embedding, vectors_by_hash
from zapq.embeddings.texts import EmbeddingKind, content_hash, normalise_text, vehicle_parts
from zapq.reengagement.matching import Arrival, Lead, LeadMessage

logger = logging.getLogger(__name__)

#: Chosen on a labelled set over the demo stock (bench/interest_queries.py, `python -m bench
#: interest_matching`): no car labelled wrong offered, 0.92 of offers labelled right, recall 0.28.
MATCH_THRESHOLD = 3.0
#: A lead's latest car-seeking messages that count; older wishes are likely stale or repeated.
MESSAGES_PER_LEAD = 5
#: Texts one scan may embed (about 40 a second on one core): the rest wait for the next scan.
DEFAULT_MAX_EMBEDDINGS = 200


def seeks_a_car(text: str) -> bool:
    """A message asking for a car by what it should be, or by one it should be like."""
    folded = fold(text)
    return describes_a_need(folded) or compares_with_a_car(folded)


def car_requests(messages: Sequence[LeadMessage], limit: int = MESSAGES_PER_LEAD) -> list[LeadMessage]:
    """The latest `limit` messages that ask for a car, oldest first."""
    asking = [message for message in messages if normalise_text(message.text) and seeks_a_car(message.text)]
    return asking[-limit:] if limit > 0 else []


def arrivals_wanted(
    snapshot: VehicleSnapshot,
    requests: Sequence[tuple[LeadMessage, Vectors]],
    arrivals: Sequence[Arrival],
    threshold: float = MATCH_THRESHOLD,
) -> list[Arrival]:
    """The arrivals scoring `threshold` or more for a request sent before they arrived."""
    scores = [hybrid_scores(snapshot, vector, message.text) for message, vector in requests]

    def wanted(arrival: Arrival) -> bool:
        position = snapshot.position.get(arrival.vehicle.id)
        if position is None:
            return False  # not for sale any more, or not in this snapshot yet
        return any(
            message.sent_at < arrival.arrived_at and by_car[position] >= threshold
            for (message, _), by_car in zip(requests, scores, strict=True)
        )

    return [arrival for arrival in arrivals if wanted(arrival)]


class SemanticMatcher:
    """An `InterestMatcher` by meaning; one per scan (it keeps the vectors it read or embedded)."""

    def __init__(
        self, provider: EmbeddingProvider, connection: psycopg.Connection, *,
        threshold: float = MATCH_THRESHOLD, max_embeddings: int = DEFAULT_MAX_EMBEDDINGS,
        messages_per_lead: int = MESSAGES_PER_LEAD,
    ) -> None:  # fmt: skip
        self.provider = provider
        self.connection = connection
        self.threshold = threshold
        self.max_embeddings = max_embeddings
        self.messages_per_lead = messages_per_lead
        self.embedded = 0  # texts this matcher ran the model on
        self._vectors: dict[str, Vectors] = {}  # normalised message text -> vector
        self._snapshot: tuple[tuple[int, ...], VehicleSnapshot] | None = None
        self._provider_failed = False
        self._budget_said = False

    def matching(self, lead: Lead, arrivals: Sequence[Arrival]) -> list[Arrival]:
        fresh = [arrival for arrival in arrivals if arrival.vehicle.id not in lead.asked_vehicle_ids]
        requests = car_requests(lead.messages, self.messages_per_lead)
        if not fresh or not requests:
            return []
        snapshot = self._stock(arrivals)
        vectors = self._message_vectors([normalise_text(message.text) for message in requests])
        known = [
            (message, vectors[text])
            for message in requests
            if (text := normalise_text(message.text)) in vectors
        ]
        return arrivals_wanted(snapshot, known, fresh, self.threshold) if known else []

    def _stock(self, arrivals: Sequence[Arrival]) -> VehicleSnapshot:
        """The available cars and their vectors, the arrivals embedded first if they are not yet."""
        key = tuple(arrival.vehicle.id for arrival in arrivals)
        if self._snapshot is None or self._snapshot[0] != key:
            self._embed_arrivals(arrivals)
            self._snapshot = (key, VehicleIndex().snapshot(self.connection, self.provider.model))
        return self._snapshot[1]

    def _embed_arrivals(self, arrivals: Sequence[Arrival]) -> None:
        """A car that arrived minutes ago may have no vector yet: embed it now, as the catch-up would."""
        texts = {content_hash(EmbeddingKind.VEHICLE, parts): parts for parts in map(_parts, arrivals)}
        stored = vectors_by_hash(self.connection, self.provider.model, EmbeddingKind.VEHICLE, list(texts))
        for digest, parts in texts.items():
            if digest in stored:
                continue
            if not self._may_embed(len(parts)):
                return
            try:
                vector = embed_parts(self.provider, parts)
            except Exception as error:
                self._failed(error)
                return
            self.embedded += len(parts)
            model = self.provider.model
            store_embedding(self.connection, model, EmbeddingKind.VEHICLE, digest, parts[0], vector)

    def _message_vectors(self, texts: Sequence[str]) -> dict[str, Vectors]:
        wanted = list(dict.fromkeys(text for text in texts if text not in self._vectors))
        if wanted:
            digests = {content_hash(EmbeddingKind.MESSAGE, [text]): text for text in wanted}
            stored = vectors_by_hash(
                self.connection, self.provider.model, EmbeddingKind.MESSAGE, list(digests)
            )
            self._vectors.update((digests[digest], vector) for digest, vector in stored.items())
            self._vectors.update(self._embed_messages([text for text in wanted if text not in self._vectors]))
        return {text: self._vectors[text] for text in texts if text in self._vectors}

    def _embed_messages(self, texts: list[str]) -> dict[str, Vectors]:
        """Embed (and store) what the budget allows, as `generate_embeddings` would: one text, one row."""
        if not texts or not self._may_embed(1):
            return {}
        batch = texts[: self.max_embeddings - self.embedded]
        try:
            rows = self.provider.embed(batch)
        except Exception as error:
            self._failed(error)
            return {}
        self.embedded += len(batch)
        self._may_embed(len(texts) - len(batch) + 1)  # says so when some are left for the next scan
        vectors = {text: np.asarray(row, dtype=np.float32) for text, row in zip(batch, rows, strict=True)}
        for text, vector in vectors.items():
            digest = content_hash(EmbeddingKind.MESSAGE, [text])
            store_embedding(self.connection, self.provider.model, EmbeddingKind.MESSAGE, digest, text, vector)
        return vectors

    def _may_embed(self, count: int) -> bool:
        if self._provider_failed:
            return False
        if self.embedded + count <= self.max_embeddings:
            return True
        if not self._budget_said:
            self._budget_said = True
            logger.info(
                "semantic matching embedded %d texts this scan; the rest wait for the next", self.embedded
            )
        return False

    def _failed(self, error: Exception) -> None:
        self._provider_failed = True
        logger.warning(
            "semantic matching goes on with stored vectors only: the embeddings provider failed: %s", error
        )


def _parts(arrival: Arrival) -> tuple[str, str]:
    return vehicle_parts(arrival.vehicle)
