"""New cars by meaning: a lead who described a need hears of an arrival that fits it, and only then.

Real parts: the demo stock in PostgreSQL, embedded by the real local model; a failing provider is a
real OpenAI-compatible client posting to a port nothing listens on.
"""

from __future__ import annotations

import datetime as dt
import logging

import psycopg
import pytest

from bench.interest_matching import measure
from tests.support.embeddings import unreachable_provider
from zapq.embeddings.generate import generate_embedding
from zapq.embeddings.providers import EmbeddingProvider
from zapq.embeddings.store import searchable_vehicles
from zapq.embeddings.texts import EmbeddingKind
from zapq.reengagement.matching import Arrival, Lead, LeadMessage
from zapq.reengagement.semantic_matching import SemanticMatcher, car_requests

NOW = dt.datetime.now(dt.UTC)
ASKED_AT = NOW - dt.timedelta(hours=3)
NO_PETROL = "quero um carro que não gaste gasolina"


def lead(*texts: str, at: dt.datetime = ASKED_AT, shown: frozenset[int] = frozenset()) -> Lead:
    return Lead(
        phone_number_id="100200300", wa_id="5511999990001", profile_name="Ana", last_inbound_at=at,
        last_reply_at=at, recent_sends=0, messages=tuple(LeadMessage(text, at) for text in texts),
        asked_vehicle_ids=shown,
    )  # fmt: skip


def arrivals(db: psycopg.Connection, *models: str, at: dt.datetime = NOW) -> list[Arrival]:
    """Cars of the stock, by model, as arrivals at `at`; every available car when no model is named."""
    return [Arrival(car, at) for car in searchable_vehicles(db) if not models or car.model in models]


def models(offered: list[Arrival]) -> list[str]:
    return [arrival.vehicle.model for arrival in offered]


def message_rows(db: psycopg.Connection) -> list[str]:
    rows = db.execute("SELECT text FROM embeddings WHERE kind = 'message' ORDER BY id").fetchall()
    return [text for (text,) in rows]


@pytest.fixture
def matcher(
    db: psycopg.Connection, embedded_inventory: int, local_model: EmbeddingProvider
) -> SemanticMatcher:
    return SemanticMatcher(local_model, db)


def test_a_lead_who_wants_a_car_that_burns_no_petrol_is_offered_the_electric_arrival_not_the_diesel_pickup(
    db: psycopg.Connection, matcher: SemanticMatcher
):
    offered = matcher.matching(lead(NO_PETROL), arrivals(db, "Dolphin", "Hilux"))

    assert models(offered) == ["Dolphin"]


def test_a_big_family_is_offered_the_seven_seaters_that_arrive_and_not_the_mobi(
    db: psycopg.Connection, matcher: SemanticMatcher
):
    offered = models(matcher.matching(lead("preciso de algo pra família grande"), arrivals(db)))

    assert {"Spin", "SW4"} <= set(offered)
    assert "Mobi" not in offered and "Saveiro" not in offered
    assert len(offered) <= 3  # a few cars that stand out, not half the stock


def test_a_lead_who_only_greeted_is_offered_nothing_and_costs_no_embedding(
    db: psycopg.Connection, matcher: SemanticMatcher
):
    greetings = lead("oi tudo bem", "bom dia", "obrigado!", "quanto custa?")

    assert matcher.matching(greetings, arrivals(db)) == []
    assert matcher.embedded == 0 and message_rows(db) == []


def test_only_messages_that_ask_for_a_car_count():
    said = [
        LeadMessage(text, ASKED_AT) for text in ("oi", NO_PETROL, "obrigado!", "algo parecido com o Compass")
    ]

    assert [message.text for message in car_requests(said)] == [NO_PETROL, "algo parecido com o Compass"]
    assert [message.text for message in car_requests(said, limit=1)] == ["algo parecido com o Compass"]


def test_a_car_that_arrived_before_the_lead_asked_or_was_shown_to_them_is_not_news(
    db: psycopg.Connection, matcher: SemanticMatcher
):
    [dolphin] = arrivals(db, "Dolphin", at=ASKED_AT - dt.timedelta(minutes=1))
    assert matcher.matching(lead(NO_PETROL), [dolphin]) == []

    [dolphin] = arrivals(db, "Dolphin")
    assert matcher.matching(lead(NO_PETROL, shown=frozenset({dolphin.vehicle.id})), [dolphin]) == []


def test_a_message_not_embedded_yet_is_embedded_once_and_kept_for_the_next_scan(
    db: psycopg.Connection, embedded_inventory: int, local_model: EmbeddingProvider
):
    first_scan = SemanticMatcher(local_model, db)
    assert models(first_scan.matching(lead(NO_PETROL), arrivals(db, "Dolphin"))) == ["Dolphin"]
    assert first_scan.embedded == 1 and message_rows(db) == [NO_PETROL]

    next_scan = SemanticMatcher(local_model, db)
    assert models(next_scan.matching(lead(NO_PETROL), arrivals(db, "Dolphin"))) == ["Dolphin"]
    assert next_scan.embedded == 0 and message_rows(db) == [NO_PETROL]


def test_with_the_provider_down_messages_embedded_after_their_burst_still_match(
    db: psycopg.Connection, embedded_inventory: int, local_model: EmbeddingProvider
):
    generate_embedding(db, local_model, EmbeddingKind.MESSAGE, [NO_PETROL])  # as `process_message` sends it
    down = SemanticMatcher(unreachable_provider(local_model.model), db)

    offered = down.matching(lead(NO_PETROL, "procuro um carro pra cidade"), arrivals(db, "Dolphin", "Hilux"))

    assert models(offered) == ["Dolphin"]  # the message without a stored vector waits for the next scan


def test_a_failing_provider_is_logged_once_and_matches_nothing_it_would_have_to_embed(
    db: psycopg.Connection, embedded_inventory: int, local_model: EmbeddingProvider, caplog
):
    down = SemanticMatcher(unreachable_provider(local_model.model), db)

    with caplog.at_level(logging.WARNING, logger="zapq.reengagement.semantic_matching"):
        assert down.matching(lead(NO_PETROL), arrivals(db, "Dolphin")) == []
        assert down.matching(lead("procuro um carro elétrico"), arrivals(db, "Dolphin")) == []

    [record] = caplog.records
    assert "stored vectors only" in record.getMessage()


def test_an_arrival_not_embedded_yet_is_embedded_by_the_matcher(
    db: psycopg.Connection, embedded_inventory: int, local_model: EmbeddingProvider
):
    db.execute("DELETE FROM embeddings WHERE kind = 'vehicle' AND text LIKE '%BYD Dolphin%'")
    matcher = SemanticMatcher(local_model, db)

    assert models(matcher.matching(lead(NO_PETROL), arrivals(db, "Dolphin"))) == ["Dolphin"]
    assert matcher.embedded == 2 + 1  # the car's card and description, and the message
    embedded = db.execute("SELECT count(*) FROM embeddings WHERE kind = 'vehicle' AND text LIKE '%Dolphin%'")
    assert embedded.fetchone() == (1,)


def test_one_scan_embeds_at_most_its_budget_and_leaves_the_rest_for_the_next(
    db: psycopg.Connection, embedded_inventory: int, local_model: EmbeddingProvider
):
    matcher = SemanticMatcher(local_model, db, max_embeddings=1)
    dolphin = arrivals(db, "Dolphin")

    assert models(matcher.matching(lead(NO_PETROL), dolphin)) == ["Dolphin"]
    assert matcher.matching(lead("tô atrás de um carro elétrico"), dolphin) == []

    assert matcher.embedded == 1 and message_rows(db) == [NO_PETROL]


def test_on_the_labelled_set_no_car_labelled_wrong_is_offered_and_most_requests_get_a_right_one(
    local_model: EmbeddingProvider,
):
    """bench/interest_queries.py at `MATCH_THRESHOLD` (docs/operations.md has the figures)."""
    [quality] = measure(local_model)

    assert quality.precision == 1.0 and quality.strict_precision >= 0.85
    assert quality.recall >= 0.25 and quality.requests_served >= 0.65
    assert quality.not_request_offers == 0
