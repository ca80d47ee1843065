"""The words that narrow a search beyond make and model: gearbox, fuel, km, colour, seats, and "the cheapest".

Pure functions over folded text (see `reading.fold`), each returning the value
`InventoryLookup.search` takes, or None when the text does not say. "até 80 mil" is a price
(`reading.find_budget`); "até 80 mil km" is mileage, read here.
"""

from __future__ import annotations

import re
from typing import Literal

SearchOrder = Literal["cheapest", "dearest", "newest", "least_km"]

COLOURS = {
    "branc": "branco",
    "pret": "preto",
    "prata": "prata",
    "cinza": "cinza",
    "vermelh": "vermelho",
    "azu": "azul",
    "verde": "verde",
    "laranja": "laranja",
    "amarel": "amarelo",
}
SEAT_WORDS = {"dois": 2, "quatro": 4, "cinco": 5, "seis": 6, "sete": 7, "oito": 8}

_AUTOMATIC = re.compile(r"\b(?:automatic[oa]s?|cvt)\b")
_MANUAL = re.compile(r"\b(?:manual|manuais|cambio mecanico)\b")
_FUELS = (
    (re.compile(r"\bdiesel\b"), "diesel"),
    (re.compile(r"\bh[iy]brid[oa]s?\b"), "hybrid"),
    (re.compile(r"\beletric[oa]s?\b"), "electric"),
    (re.compile(r"\bflex\b"), "flex"),
)
_KM_NUMBER = r"(\d{1,3}(?:\.\d{3})+|\d+)(?:,\d+)?\s*(mil\b|k\b)?\s*(?:km|kms|quilometros?)\b"
_MAX_KM = re.compile(r"\b(?:ate|menos de|abaixo de|no maximo|maximo de|max)\s*" + _KM_NUMBER)
_COLOUR = re.compile(r"\b(brancos?|brancas?|pretos?|pretas?|prata|cinzas?|vermelhos?|vermelhas?|azul|azuis"
                     r"|verdes?|laranjas?|amarelos?|amarelas?)\b")  # fmt: skip
_SEATS = re.compile(r"\b(\d|dois|quatro|cinco|seis|sete|oito)\s*lugares\b")
_ORDERS: tuple[tuple[re.Pattern[str], SearchOrder], ...] = (
    (re.compile(r"\b(?:mais barat[oa]s?|mais em conta|menor preco|mais economico no preco|mais acessivel)\b"),
     "cheapest"),
    (re.compile(r"\b(?:mais car[oa]s?|maior preco|mais luxuos[oa]|top de linha)\b"), "dearest"),
    (re.compile(r"\b(?:menos (?:km|quilometragem|quilometros|rodad[oa])|menor quilometragem"
                r"|menos usad[oa])\b"), "least_km"),
    (re.compile(r"\b(?:mais nov[oa]s?|mais recentes?|ano mais novo)\b"), "newest"),
)  # fmt: skip


def find_transmission(folded_text: str) -> str | None:
    """'automático', 'CVT' -> automatic; 'manual' -> manual."""
    if _AUTOMATIC.search(folded_text):
        return "automatic"
    if _MANUAL.search(folded_text):
        return "manual"
    return None


def find_fuel(folded_text: str) -> str | None:
    """'diesel', 'híbrido', 'elétrico', 'flex' -> the inventory's fuel."""
    for pattern, fuel in _FUELS:
        if pattern.search(folded_text):
            return fuel
    return None


def find_max_km(folded_text: str) -> int | None:
    """'até 50 mil km', 'com menos de 30.000 km', 'no máximo 40k km' -> kilometres."""
    match = _MAX_KM.search(folded_text)
    return _km(match) if match else None


def find_km(folded_text: str) -> int | None:
    """Any mileage stated: '80 mil km', 'rodou 75.000 km' -> kilometres (a trade-in's)."""
    match = re.search(_KM_NUMBER, folded_text)
    return _km(match) if match else None


def find_colour(folded_text: str) -> str | None:
    """'branca', 'pretos' -> the stock's colour word ('branco', 'preto')."""
    match = _COLOUR.search(folded_text)
    if not match:
        return None
    word = match.group(1)
    return next(colour for prefix, colour in COLOURS.items() if word.startswith(prefix))


def find_min_seats(folded_text: str) -> int | None:
    """'7 lugares', 'sete lugares' -> 7."""
    match = _SEATS.search(folded_text)
    if not match:
        return None
    word = match.group(1)
    return int(word) if word.isdigit() else SEAT_WORDS[word]


def find_order(folded_text: str) -> SearchOrder | None:
    """'mais barato' -> cheapest, 'mais caro' -> dearest, 'mais novo' -> newest, 'menos km' -> least_km."""
    for pattern, order in _ORDERS:
        if pattern.search(folded_text):
            return order
    return None


def _km(match: re.Match[str]) -> int:
    amount = int(match.group(1).replace(".", ""))
    # "50 mil km" and "50k km"; a bare "50 km" is taken at its word.
    return amount * 1000 if match.group(2) else amount
