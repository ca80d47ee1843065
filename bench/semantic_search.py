"""Semantic search: the local model's speed, retrieval quality on a labelled set, and search latency.

- `embeddings_per_s_local`: distinct pt-BR messages embedded per second by the local model, in batches
  of 32, as `generate_embeddings` would (one process, the machine's cores).
- `search_recall_at_3_{keyword,semantic,hybrid}`: over bench/search_queries.py (46 queries, 22 exact
  and 24 vague, over the demo stock), the share of a query's relevant cars among the first three
  shown (of at most three: a query with five relevant cars scores 1 when three of them come first),
  averaged over queries; `_exact` and `_vague` split it.
- `search_p99_ms`: what `GET /api/search` does (embed the query, rank the stock by the hybrid
  ranking, rank 100,000 past messages) timed over 200 queries, after the indexes are loaded. The
  100,000 message vectors are 400 real embeddings of distinct messages, each copied with a little
  noise (embedding 100,000 texts would take an hour here; the search's cost depends only on count).
"""

from __future__ import annotations

import os
import time
from collections import defaultdict

import numpy as np
import psycopg

from bench.search_queries import QUERIES
from bench.support import prepare_environment, report
from zapq.embeddings.generate import embed_stock
from zapq.embeddings.index import MessageIndex, VehicleIndex
from zapq.embeddings.providers import EmbeddingProvider
from zapq.embeddings.search import SemanticSearch
from zapq.embeddings.texts import EmbeddingKind, content_hash

MESSAGES = int(os.environ.get("BENCH_SEARCH_MESSAGES", "100000"))
SEARCHES = 200
SPEED_TEXTS = 256
SEEDS = 400

_OPENINGS = ("oi", "bom dia", "boa tarde", "olá", "e aí", "opa")
_ASKS = (
    "tem {} disponível?", "qual o preço do {}?", "aceita troca no {}?", "dá pra financiar o {}?",
    "o {} ainda está à venda?", "quero fazer test drive no {}", "qual a quilometragem do {}?",
    "o {} tem garantia?", "vocês entregam o {} em outra cidade?", "o {} é automático?",
)  # fmt: skip
_CARS = (
    "corolla", "hilux", "onix", "hb20", "compass", "kwid", "strada", "toro", "civic", "creta", "t-cross",
    "renegade", "spin", "sw4", "gol", "polo", "kicks", "dolphin", "ranger", "mobi",
)  # fmt: skip


def message_texts(count: int, offset: int = 0) -> list[str]:
    """Distinct customer-like messages: an opening, a question about a car, and a number."""
    texts = []
    for number in range(offset, offset + count):
        opening = _OPENINGS[number % len(_OPENINGS)]
        ask = _ASKS[(number // len(_OPENINGS)) % len(_ASKS)]
        car = _CARS[(number // 7) % len(_CARS)]
        texts.append(f"{opening}, {ask.format(car)} ano {2015 + number % 10}, até {40 + number % 90} mil")
    return texts


def main() -> None:
    prepare_environment()
    from zapq.conversation.seed import seed_inventory
    from zapq.embeddings.local import LocalE5
    from zapq.settings import get_settings

    provider = LocalE5(threads=get_settings().embeddings_local_threads)
    with psycopg.connect(get_settings().database_url, autocommit=True) as connection:
        seed_inventory(connection)
        embed_stock(connection, provider)
        measure_speed(provider)
        measure_quality(connection, provider)
        measure_latency(connection, provider)


def measure_speed(provider: EmbeddingProvider) -> None:
    texts = message_texts(SPEED_TEXTS, offset=10_000)
    provider.embed(texts[:8])  # warm
    started = time.perf_counter()
    for start in range(0, len(texts), 32):
        provider.embed(texts[start : start + 32])
    report("embeddings_per_s_local", round(len(texts) / (time.perf_counter() - started), 1))


def measure_quality(connection: psycopg.Connection, provider: EmbeddingProvider) -> None:
    codes = dict(connection.execute("SELECT id, stock_code FROM vehicles").fetchall())
    search = SemanticSearch(provider, lambda: connection)
    rankings = {
        "keyword": search.keyword_vehicles,
        "semantic": search.similar_vehicles,
        "hybrid": search.hybrid_vehicles,
    }
    for name, rank in rankings.items():
        by_kind: dict[str, list[float]] = defaultdict(list)
        for query in QUERIES:
            shown = {codes[vehicle_id] for vehicle_id, _ in rank(query.text, 3)}
            by_kind[query.kind].append(len(shown & query.relevant) / min(len(query.relevant), 3))
        every = [recall for recalls in by_kind.values() for recall in recalls]
        report(f"search_recall_at_3_{name}", round(float(np.mean(every)), 3))
        for kind in ("exact", "vague"):
            report(f"search_recall_at_3_{name}_{kind}", round(float(np.mean(by_kind[kind])), 3))


def measure_latency(connection: psycopg.Connection, provider: EmbeddingProvider) -> None:
    connection.execute("DELETE FROM embeddings WHERE kind = 'message' AND model = %s", (provider.model,))
    seeds = provider.embed(message_texts(SEEDS))
    rng = np.random.default_rng(20261201)
    with (
        connection.cursor() as cursor,
        cursor.copy("COPY embeddings (model, kind, content_hash, text, dims, vector) FROM STDIN") as copy,
    ):
        for number in range(MESSAGES):
            vector = seeds[number % SEEDS] + rng.normal(0, 0.02, seeds.shape[1]).astype(np.float32)
            vector /= np.linalg.norm(vector)
            text = f"{message_texts(1, number % SEEDS)[0]} (#{number})"
            digest = content_hash(EmbeddingKind.MESSAGE, [text])
            copy.write_row(
                (provider.model, "message", digest, text, vector.size, vector.astype("<f4").tobytes())
            )
    search = SemanticSearch(provider, lambda: connection, vehicles=VehicleIndex(), messages=MessageIndex())
    started = time.perf_counter()
    search.similar_messages("oi", 1)
    report("search_index_load_s", round(time.perf_counter() - started, 2))
    queries = [query.text for query in QUERIES]
    timings = []
    for number in range(SEARCHES):
        text = queries[number % len(queries)]
        started = time.perf_counter()
        search.hybrid_vehicles(text, 5)
        search.similar_messages(text, 5)
        timings.append((time.perf_counter() - started) * 1000)
    report("search_p50_ms", round(float(np.percentile(timings, 50)), 1))
    report("search_p99_ms", round(float(np.percentile(timings, 99)), 1))
    connection.execute("DELETE FROM embeddings WHERE kind = 'message' AND model = %s", (provider.model,))
