"""A labelled set of lead messages over the demo stock, for the `new_cars` campaign's semantic matcher.

Each request names the cars a salesperson would write to that lead about if they arrived (`offer`) and
cars it would be a mistake to write about (`never`); the rest are left unlabelled (arguable either way).
`NOT_REQUESTS` ask for no car: they must be offered nothing. Stock codes are the numbers of
zapq/conversation/demo_stock.csv; ZQ-0002 is reserved, never an arrival.
"""

from __future__ import annotations

from typing import Final

import msgspec


class LabelledRequest(msgspec.Struct, frozen=True):
    text: str
    offer: frozenset[str]
    never: frozenset[str]


def _codes(*numbers: int) -> frozenset[str]:
    return frozenset(f"ZQ-{number:04d}" for number in numbers)


def _r(text: str, offer: tuple[int, ...], never: tuple[int, ...]) -> LabelledRequest:
    return LabelledRequest(text, _codes(*offer), _codes(*never))


REQUESTS: Final[tuple[LabelledRequest, ...]] = (
    _r("quero um carro que não gaste gasolina", (40, 19), (3, 14, 20, 25, 28, 41, 23, 30)),
    _r("preciso de algo pra família grande", (20, 29, 37), (31, 26, 18, 4, 23)),
    _r("quero um carro grande pra levar a família toda", (20, 29, 37), (31, 18, 26, 4)),
    _r("algo pra trabalho pesado no campo", (3, 14, 25, 26, 28, 41), (31, 18, 40, 4, 42, 21)),
    _r("preciso de uma caminhonete", (3, 14, 25, 26, 28, 32, 41), (31, 18, 40, 4, 5, 21, 12)),
    _r("primeiro carro barato pra minha filha", (12, 15, 18, 23, 31), (3, 20, 25, 28, 37, 19)),
    _r("quero um carro pra cidade, fácil de estacionar", (4, 10, 15, 18, 31), (3, 20, 25, 28, 41, 37)),
    _r("procuro um sedã confortável pra viajar", (1, 5, 21, 24, 30), (31, 18, 26, 23)),
    _r("tô atrás de um carro elétrico", (40,), (3, 14, 20, 25, 28, 41, 23)),
    _r("quero um suv com cara de jipe pra estrada de terra", (17, 36, 38, 13), (31, 18, 21, 1, 40)),
    _r("preciso de um carro que puxe um barco", (3, 25, 28, 41, 14, 20), (31, 18, 4, 40, 12)),
    _r("quero um carro econômico pra família", (1, 6, 21, 29, 39), (3, 25, 28, 20, 37)),
    _r("quero algo com teto solar e bancos de couro", (5, 11, 34, 37, 35), (18, 23, 31, 26)),
    _r("quero um carro que gaste pouco combustível", (4, 10, 19, 21, 31, 40, 15, 18), (3, 20, 25, 28, 41)),
    _r("algo parecido com a hilux, só que mais barato", (14, 25, 28, 41), (31, 18, 40, 4, 21)),
    _r("quero um carro seguro, com muitos airbags", (5, 7, 11, 19), (23, 18, 26, 31)),
    _r("procuro um utilitário pequeno pra fazer entregas", (26, 32), (20, 37, 40, 1, 5)),
    _r("quero um carro praticamente novo, pouco rodado", (8, 16, 19, 40, 42), (23, 22, 30, 41)),
)

#: Two of these do pass the "asks for a car" cue ("... do carro"): the score must keep them out.
NOT_REQUESTS: Final[tuple[str, ...]] = (
    "oi tudo bem", "bom dia", "obrigado!", "quanto custa?", "pode ser amanhã às 10h", "ok vou pensar",
    "qual o endereço da loja?", "vocês abrem sábado?", "me manda mais fotos do carro",
    "o carro ainda está disponível?", "quero agendar um test drive",
    "valeu, depois eu volto a falar com vocês",
)  # fmt: skip
