"""The local provider is a real multilingual model: pt-BR sentences land near their meaning."""

from __future__ import annotations

import numpy as np

from zapq.embeddings.local import LOCAL_DIMS
from zapq.embeddings.providers import EmbeddingProvider


def test_a_paraphrase_scores_higher_than_an_unrelated_sentence(local_model: EmbeddingProvider) -> None:
    query, paraphrase, unrelated = local_model.embed(
        [
            "quero uma picape a diesel pra trabalhar na fazenda",
            "caminhonete 4x4 diesel para serviço pesado no campo",
            "qual o horário de funcionamento da loja no sábado?",
        ]
    )
    # e5's cosines sit high (0.8 to 0.95): the gap, not the level, carries the meaning.
    assert float(query @ paraphrase) > float(query @ unrelated) + 0.02


def test_each_query_finds_the_description_it_means_among_others(local_model: EmbeddingProvider) -> None:
    descriptions = [
        "Hatch 100% elétrico com autonomia de mais de 290 km e recarga em casa.",
        "SUV grande de 7 lugares a diesel, para famílias grandes.",
        "Sedã compacto com porta-malas grande e manutenção barata.",
    ]
    queries = [
        "carro elétrico que carrega na tomada de casa",
        "preciso levar minha família inteira, somos sete",
        "um sedã que não dê muita despesa com oficina",
    ]
    scores = local_model.embed(queries, query=True) @ local_model.embed(descriptions).T
    assert list(np.argmax(scores, axis=1)) == [0, 1, 2]


def test_vectors_are_unit_length_and_a_batch_gives_what_single_calls_give(
    local_model: EmbeddingProvider,
) -> None:
    texts = ["tem HB20 prata?", "aceita meu carro na troca?"]
    batch = local_model.embed(texts)
    singles = np.vstack([local_model.embed([text]) for text in texts])
    assert batch.shape == (2, LOCAL_DIMS)
    assert np.allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-4)
    assert np.allclose(batch, singles, atol=1e-4)
