"""Requests keyword rules cannot answer: "um carro econômico pra família", "algo parecido com o Compass".

The rules engine reads makes, models, budgets and filters; a customer describing what they need
names none of them. Such a burst goes to a `MeaningSearch` (zapq.embeddings.search.SemanticSearch,
ranking the stock by meaning and by the words typed) instead of ending in "não entendi". The cues
here only decide when to ask it: a request that names a car need ("carro", "algo", "procuro")
or compares with a car ("parecido com", "tipo o").
"""

from __future__ import annotations

import re
from typing import Protocol

# Folded text (lowercase, no accents), as zapq.conversation.reading.fold gives it.
_ASKS_FOR_A_CAR = re.compile(
    r"\b(?:carro|carros|algo|veiculo|veiculos|automovel|modelo|opcao|opcoes|caminhonete|utilitario"
    r"|quero um|quero uma|preciso de um|preciso de uma|procuro|procurando|to atras de|estou atras de)\b"
)
_LIKE_A_NAMED_CAR = re.compile(
    r"\b(?:parecid[oa]s?|similar|semelhante|tipo (?:o|a|um|uma)|igual (?:a|ao|o))\b"
)
MIN_WORDS = 3


class MeaningSearch(Protocol):
    """Available cars for a described need, best first, as (vehicle_id, score)."""

    def hybrid_vehicles(self, text: str, limit: int = 5) -> list[tuple[int, float]]: ...


def compares_with_a_car(folded_text: str) -> bool:
    """'algo parecido com o Compass, mas mais barato': the named car is a reference, not the request."""
    return bool(_LIKE_A_NAMED_CAR.search(folded_text))


def describes_a_need(folded_text: str) -> bool:
    """'quero um carro econômico pra família': a car asked for by what it should be, not by name."""
    return len(folded_text.split()) >= MIN_WORDS and bool(_ASKS_FOR_A_CAR.search(folded_text))
