"""Semantic search over the demo stock in PostgreSQL, with the real local model."""

from __future__ import annotations

import psycopg
import pytest

from zapq.embeddings.generate import embed_stock, generate_embedding
from zapq.embeddings.providers import EmbeddingProvider
from zapq.embeddings.search import SemanticSearch
from zapq.embeddings.texts import EmbeddingKind


@pytest.fixture
def search(db: psycopg.Connection, inventory: int, local_model: EmbeddingProvider) -> SemanticSearch:
    embed_stock(db, local_model)
    return SemanticSearch(local_model, lambda: db)


def _models(db: psycopg.Connection, ranked: list[tuple[int, float]]) -> list[str]:
    names = dict(db.execute("SELECT id, model FROM vehicles").fetchall())
    return [names[vehicle_id] for vehicle_id, _ in ranked]


def test_semantic_search_finds_a_pickup_for_caminhonete_where_keywords_find_nothing(
    db: psycopg.Connection, search: SemanticSearch
) -> None:
    request = "preciso de uma caminhonete"  # the stock's texts say "picape", never "caminhonete"

    assert search.keyword_vehicles(request, limit=3) == []
    body_types = dict(db.execute("SELECT id, body_type FROM vehicles").fetchall())
    first, *_ = search.similar_vehicles(request, limit=3)
    assert body_types[first[0]] == "pickup"


def test_semantic_search_finds_the_small_work_pickup_for_deliveries(
    db: psycopg.Connection, search: SemanticSearch
) -> None:
    request = "utilitário pequeno pra fazer entregas"

    assert search.keyword_vehicles(request) == []
    assert _models(db, search.similar_vehicles(request, limit=1)) == ["Saveiro"]


def test_the_hybrid_ranking_keeps_exact_names_first(db: psycopg.Connection, search: SemanticSearch) -> None:
    assert _models(db, search.hybrid_vehicles("tem hb20?", limit=2)) == ["HB20", "HB20S"]
    assert _models(db, search.hybrid_vehicles("jeep compass", limit=1)) == ["Compass"]


def test_like_the_compass_but_cheaper_gives_cheaper_cars_that_are_not_the_compass(
    db: psycopg.Connection, search: SemanticSearch
) -> None:
    ranked = search.hybrid_vehicles("algo parecido com o Compass, mas mais barato", limit=3)

    rows = {row[0]: row[1:] for row in db.execute("SELECT id, model, body_type, price FROM vehicles")}
    compass_price = next(price for model, _, price in rows.values() if model == "Compass")
    assert len(ranked) == 3
    assert all(rows[vehicle_id][0] != "Compass" for vehicle_id, _ in ranked)
    assert all(rows[vehicle_id][2] < compass_price for vehicle_id, _ in ranked)
    assert all(rows[vehicle_id][1] == "suv" for vehicle_id, _ in ranked)


def test_a_car_whose_description_changed_is_embedded_again(
    db: psycopg.Connection, search: SemanticSearch, local_model: EmbeddingProvider
) -> None:
    db.execute("UPDATE vehicles SET description = 'Picape com guincho para resgate' WHERE model = 'Saveiro'")

    assert embed_stock(db, local_model) == 1
    assert embed_stock(db, local_model) == 0


def test_past_messages_are_found_by_meaning(
    db: psycopg.Connection, search: SemanticSearch, local_model: EmbeddingProvider
) -> None:
    for text in (
        "vocês aceitam meu carro usado na troca?",
        "qual o horário da loja no sábado?",
        "tem SUV 7 lugares?",
    ):
        generate_embedding(db, local_model, EmbeddingKind.MESSAGE, [text])

    texts = [
        text for text, _ in search.similar_messages("dá pra dar meu veículo como parte do pagamento?", 3)
    ]
    assert texts[0] == "vocês aceitam meu carro usado na troca?"
    assert len(texts) == 3


def test_the_workers_shared_search_ranks_a_vague_request_from_the_stock(
    settings, db: psycopg.Connection, inventory: int
) -> None:  # type: ignore[no-untyped-def]
    from actors.services import semantic_search
    from zapq.embeddings.providers import build_provider

    embed_stock(db, build_provider(settings))
    ranked = semantic_search(settings).hybrid_vehicles("algo pra trabalho pesado no campo", limit=3)

    assert set(_models(db, ranked)) <= {"Hilux", "Ranger", "Toro", "S10", "Saveiro", "Amarok", "Strada"}
