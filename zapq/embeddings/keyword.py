"""Keyword ranking (BM25) over the cars' texts: the baseline semantic search is measured against,
and the half of the hybrid ranking that never misses a name the customer typed."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from zapq.embeddings.texts import fold

# Words that say nothing about which car: articles, prepositions, "quero", "carro", "algo".
_STOPWORDS_TEXT = """
    a o as os e de da do das dos um uma uns umas pra para pro com sem que no na nos nas em por mais
    mas tem voce voces quero queria algo carro carros so ate bem me minha meu eu tipo ai ou se
    isso esse essa como
"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())
_WORD = re.compile(r"[a-z0-9]+")
K1, B = 1.2, 0.75


def words(text: str) -> list[str]:
    return [word for word in _WORD.findall(fold(text)) if word not in STOPWORDS]


class KeywordIndex:
    """BM25 over a fixed list of documents; `scores` has one entry per document, 0 for no match."""

    def __init__(self, documents: Sequence[str]) -> None:
        self._documents = [Counter(words(document)) for document in documents]
        self._lengths = np.array([sum(counts.values()) for counts in self._documents], dtype=np.float64)
        self._average = float(self._lengths.mean()) if len(self._documents) else 0.0
        frequency = Counter(word for counts in self._documents for word in counts)
        count = len(self._documents)
        self._idf = {word: math.log(1 + (count - n + 0.5) / (n + 0.5)) for word, n in frequency.items()}

    def scores(self, query: str) -> npt.NDArray[np.float64]:
        result = np.zeros(len(self._documents), dtype=np.float64)
        terms = [term for term in set(words(query)) if term in self._idf]
        for position, counts in enumerate(self._documents):
            norm = K1 * (1 - B + B * self._lengths[position] / (self._average or 1))
            for term in terms:
                tf = counts.get(term, 0)
                if tf:
                    result[position] += self._idf[term] * tf * (K1 + 1) / (tf + norm)
        return result
