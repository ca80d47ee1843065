"""The customer's own car offered in part-exchange: its make and model, year and km, one slot per answer.

The car a customer describes as theirs ("aceita meu carro na troca? é um Gol 2015", a photo captioned
"esse é o meu carro atual") is not a search. Once the draft is complete a person values the car: the
engine hands the conversation off with every slot in the summary.
"""

from __future__ import annotations

import re

import msgspec

from zapq.conversation.car_filters import find_km
from zapq.conversation.engine import TradeInDraft
from zapq.conversation.formatting import format_km
from zapq.conversation.reading import MAKE_ALIASES, BatchReading

MAX_FREE_TEXT_MODEL = 40
_BARE_KM = re.compile(r"^\D*?(\d{1,3}(?:\.\d{3})+|\d+)(?:,\d+)?\s*(mil\b|k\b)?")


def fill_trade_in(draft: TradeInDraft | None, reading: BatchReading, typed_text: str) -> TradeInDraft:
    """`draft` (or a new one) with what this burst says about the customer's car.

    `typed_text` is the burst as written, for a model we do not know ("um Celta") given as the answer
    to "which car?".
    """
    draft = msgspec.structs.replace(draft) if draft else TradeInDraft()
    query = next((query for query in reading.queries if query.model or query.make), None)
    if query is not None:
        draft.make = query.make or draft.make
        draft.model = query.model or draft.model
    elif draft.awaiting == "car" and typed_text.strip():
        draft.model = " ".join(typed_text.split())[:MAX_FREE_TEXT_MODEL]
        folded = reading.text
        draft.make = next(
            (make for alias, make in MAKE_ALIASES.items() if re.search(rf"\b{alias}\b", folded)), None
        )
    year = next((query.year for query in reading.queries if query.year), None)
    draft.year = year or draft.year
    km = find_km(reading.text)
    if km is None and draft.awaiting == "km" and (match := _BARE_KM.match(reading.text)):
        km = int(match.group(1).replace(".", ""))
        km = km * 1000 if match.group(2) else km
    draft.km = km if km is not None else draft.km
    return draft


def next_trade_in_question(draft: TradeInDraft) -> str | None:
    """Ask for the first missing slot (and remember which), or None when the draft is complete."""
    if draft.model is None:
        draft.awaiting = "car"
        make = f" {draft.make}" if draft.make else ""
        return f"Qual é o modelo do seu{make or ' carro (marca e modelo)'}?"
    if draft.year is None:
        draft.awaiting = "year"
        return f"De que ano é o seu {draft.model}?"
    if draft.km is None:
        draft.awaiting = "km"
        return f"Quantos km o seu {draft.model} tem rodados?"
    draft.awaiting = None
    return None


def describe_trade_in(draft: TradeInDraft) -> str:
    """'Volkswagen Gol 2015, 80.000 km', with whatever is known."""
    car = " ".join(word for word in (draft.make, draft.model, str(draft.year or "")) if word)
    km = f", {format_km(draft.km)}" if draft.km is not None else ""
    return f"{car or 'carro não informado'}{km}"
