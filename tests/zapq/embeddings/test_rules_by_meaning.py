"""The rules engine answers what keywords miss by meaning: a described need, a car like another."""

from __future__ import annotations

import psycopg
import pytest

from tests.zapq.conversation.messages import burst, new_customer
from zapq.conversation.inventory import PostgresInventory
from zapq.conversation.rules import MENU_TEXT, RuleBasedEngine
from zapq.embeddings.generate import embed_stock
from zapq.embeddings.providers import EmbeddingProvider
from zapq.embeddings.search import SemanticSearch


@pytest.fixture
def engine(db: psycopg.Connection, inventory: int, local_model: EmbeddingProvider) -> RuleBasedEngine:
    embed_stock(db, local_model)
    return RuleBasedEngine(PostgresInventory(lambda: db), semantic=SemanticSearch(local_model, lambda: db))


def test_a_need_keywords_miss_is_answered_with_cars_that_fit_it(engine: RuleBasedEngine):
    reply = engine.reply(new_customer(), burst("quero um carro que não gaste gasolina"))

    assert reply.text.startswith("Pelo que você me contou, estas opções combinam:\n• BYD Dolphin")  # electric
    assert reply.text.count("•") == 3
    assert reply.intent == "search"
    assert len(reply.state.facts["shown"].split(",")) == 3  # "quanto custa?" next refers to these


def test_like_the_compass_but_cheaper_lists_cheaper_cars_and_not_the_compass(engine: RuleBasedEngine):
    reply = engine.reply(new_customer(), burst("algo parecido com o Compass, mas mais barato"))

    assert reply.text.startswith("Pelo que você me contou")
    assert "Compass" not in reply.text
    assert reply.text.count("•") == 3


def test_without_semantic_search_a_described_need_still_gets_the_menu(db: psycopg.Connection, inventory: int):
    engine = RuleBasedEngine(PostgresInventory(lambda: db))

    reply = engine.reply(new_customer(), burst("quero um carro econômico pra família"))

    assert MENU_TEXT in reply.text


class BrokenProvider:
    def embed(self, texts: list[str]) -> list[list[float]]:
        raise RuntimeError("provider down")


def test_a_failing_embeddings_provider_costs_the_nuance_not_the_reply(db: psycopg.Connection, inventory: int):
    engine = RuleBasedEngine(
        PostgresInventory(lambda: db), semantic=SemanticSearch(BrokenProvider(), lambda: db)
    )  # type: ignore[arg-type]

    reply = engine.reply(new_customer(), burst("quero um carro econômico pra família"))

    assert MENU_TEXT in reply.text


def test_a_stock_not_embedded_yet_gets_the_menu_not_a_claim_that_nothing_is_in_stock(
    db: psycopg.Connection, inventory: int, local_model: EmbeddingProvider
):
    engine = RuleBasedEngine(PostgresInventory(lambda: db), semantic=SemanticSearch(local_model, lambda: db))

    reply = engine.reply(new_customer(), burst("quero um carro que não gaste gasolina"))

    assert MENU_TEXT in reply.text
    assert "sem carros" not in reply.text
