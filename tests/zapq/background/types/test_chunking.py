"""Chunking: slices of the document, within chunk_size, ending at sentences and paragraphs, overlapping."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zapq.background.types.chunking import ABBREVIATIONS, Chunk, chunk_text

LETTERS = "abcdefghijklmnopqrstuvwxyzáâãàçéêíóôõú"
MAX_WORD = 8
words = st.text(alphabet=LETTERS, min_size=1, max_size=MAX_WORD)
# A sentence's last word is no initial or abbreviation: those do not end a sentence.
last_words = st.text(alphabet=LETTERS, min_size=2, max_size=MAX_WORD).filter(lambda w: w not in ABBREVIATIONS)
sentences = st.tuples(st.lists(words, max_size=13), last_words).map(
    lambda parts: " ".join([*parts[0], parts[1]]).capitalize() + "."
)
paragraphs = st.lists(sentences, min_size=1, max_size=6).map(" ".join)
documents = st.lists(paragraphs, min_size=1, max_size=8).map("\n\n".join)


def assert_slices_covering(text: str, chunks: list[Chunk]) -> None:
    assert [chunk.index for chunk in chunks] == list(range(len(chunks)))
    for chunk in chunks:
        assert chunk.text == text[chunk.start : chunk.end] == chunk.text.strip() != ""
        assert chunk.start == 0 or text[chunk.start - 1].isspace(), "a chunk starts at a word"
        assert chunk.end == len(text) or text[chunk.end].isspace(), "a chunk ends at a word"
    assert chunks[0].start == len(text) - len(text.lstrip())
    assert chunks[-1].end == len(text.rstrip())
    for before, after in pairwise(chunks):
        assert before.start < after.start and before.end < after.end
        assert text[before.end : after.start].strip() == "", "no text between two chunks is left out"


@settings(max_examples=150, deadline=None)
@given(text=documents, chunk_size=st.integers(40, 400), overlap_share=st.floats(0.3, 0.5))
def test_every_chunk_fits_ends_at_a_sentence_and_overlaps_the_one_before(text, chunk_size, overlap_share):
    overlap = max(12, int(chunk_size * overlap_share) // 2)  # room for the longest word and its gap
    chunks = chunk_text(text, chunk_size, overlap)

    assert_slices_covering(text, chunks)
    assert all(len(chunk.text) <= chunk_size for chunk in chunks)
    for before, after in pairwise(chunks):
        assert after.start < before.end, "consecutive chunks share text"
        assert before.end - after.start <= overlap
    longest_sentence = max(len(s) for p in text.split("\n\n") for s in p.replace(". ", ".\0").split("\0"))
    if longest_sentence <= chunk_size - overlap:
        assert all(chunk.text.endswith(".") for chunk in chunks), "no sentence is cut"


@settings(max_examples=100, deadline=None)
@given(
    text=st.lists(
        st.one_of(words, st.text(alphabet="xyz", min_size=30, max_size=90)), min_size=1, max_size=40
    ).map(" ".join),
    chunk_size=st.integers(20, 60),
    overlap=st.integers(0, 10),
)
def test_only_a_single_word_longer_than_chunk_size_makes_a_longer_chunk(text, chunk_size, overlap):
    chunks = chunk_text(text, chunk_size, overlap)

    assert_slices_covering(text, chunks)
    for chunk in chunks:
        assert len(chunk.text) <= chunk_size or chunk.text.split() == [chunk.text], chunk


def test_a_short_document_is_one_chunk():
    assert chunk_text("  Olá! Tudo bem?\n", 100, 20) == [Chunk(0, 2, 16, "Olá! Tudo bem?")]


def test_nothing_but_whitespace_makes_no_chunk():
    assert chunk_text(" \n\n\t ", 100, 10) == []


def test_paragraphs_that_fit_are_never_split_between_chunks():
    first = "O Corolla 2022 tem câmbio automático. Está com a revisão em dia."
    second = "O HB20 é econômico. Faz quinze quilômetros por litro na cidade."
    third = "Aceitamos seu carro na troca."
    chunks = chunk_text(f"{first}\n\n{second}\n\n{third}", 100, 0)

    assert [chunk.text for chunk in chunks] == [first, f"{second}\n\n{third}"]


def test_portuguese_abbreviations_initials_and_prices_do_not_end_a_sentence():
    text = (
        "O Sr. Silva e a Dra. Ana foram à Av. Paulista, n. 1000, com J. Souza. "
        "O carro custa R$ 95.000,00 à vista, etc. e tal. Vocês aceitam troca? Sim!"
    )
    chunks = chunk_text(text, 75, 0)

    assert [chunk.text for chunk in chunks] == [
        "O Sr. Silva e a Dra. Ana foram à Av. Paulista, n. 1000, com J. Souza.",
        "O carro custa R$ 95.000,00 à vista, etc. e tal. Vocês aceitam troca? Sim!",
    ]


def test_a_sentence_longer_than_a_chunk_is_split_between_words():
    sentence = "Temos " + " ".join(f"carro{n}" for n in range(30)) + "."
    chunks = chunk_text(sentence, 50, 0)

    assert len(chunks) > 3
    assert all(len(chunk.text) <= 50 for chunk in chunks)
    assert " ".join(chunk.text for chunk in chunks) == sentence


def test_the_overlap_starts_at_a_sentence_when_one_begins_in_the_tail():
    text = "Primeira frase aqui. Segunda. Terceira frase bem mais longa que as outras duas."
    chunks = chunk_text(text, 40, 20)

    assert chunks[0].text == "Primeira frase aqui. Segunda."
    assert chunks[1].text.startswith("Segunda. Terceira")


def test_lines_of_a_list_are_sentences():
    text = "Documentos:\n- RG ou CNH\n- CPF\n- comprovante de residência"
    chunks = chunk_text(text, 30, 0)

    assert [chunk.text for chunk in chunks] == [
        "Documentos:\n- RG ou CNH\n- CPF",
        "- comprovante de residência",
    ]


@pytest.mark.parametrize(
    ("chunk_size", "overlap"), [(0, 0), (10, 10), (10, -1)], ids=["zero", "all", "negative"]
)
def test_a_chunk_size_or_overlap_that_cannot_work_is_refused(chunk_size, overlap):
    with pytest.raises(ValueError):
        chunk_text("Texto.", chunk_size, overlap)
