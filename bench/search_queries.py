"""A labelled pt-BR query set over the demo stock (zapq/conversation/demo_stock.csv), for search quality.

Each query carries the stock codes a salesperson would show for it. `exact` queries name a make, model
or a literal attribute; `vague` ones say what the customer wants in their own words. ZQ-0002 is reserved,
so it is never relevant: searches show available cars only.
"""

from __future__ import annotations

from typing import Final, Literal

import msgspec

QueryKind = Literal["exact", "vague"]


class LabelledQuery(msgspec.Struct, frozen=True):
    text: str
    kind: QueryKind
    relevant: frozenset[str]


def _q(text: str, kind: QueryKind, *codes: int) -> LabelledQuery:
    return LabelledQuery(text, kind, frozenset(f"ZQ-{code:04d}" for code in codes))


QUERIES: Final[tuple[LabelledQuery, ...]] = (
    _q("corolla", "exact", 1, 19),
    _q("tem hb20?", "exact", 15, 34),
    _q("hilux", "exact", 3),
    _q("picape diesel", "exact", 3, 14, 25, 28, 41),
    _q("jeep compass", "exact", 17),
    _q("onix", "exact", 10, 27),
    _q("vocês têm civic?", "exact", 5),
    _q("toyota yaris", "exact", 4),
    _q("fiat strada", "exact", 32),
    _q("byd dolphin", "exact", 40),
    _q("sw4", "exact", 20),
    _q("renault kwid", "exact", 18),
    _q("chevrolet spin", "exact", 29),
    _q("amarok", "exact", 25),
    _q("suv híbrido", "exact", 19),
    _q("nissan kicks", "exact", 39),
    _q("hyundai creta", "exact", 16),
    _q("gol", "exact", 23),
    _q("peugeot 208", "exact", 42),
    _q("ford ranger", "exact", 41),
    _q("elétrico", "exact", 40),
    _q("7 lugares", "exact", 20, 29, 37),
    _q("quero um carro econômico pra família", "vague", 1, 6, 21, 29, 39),
    _q("algo parecido com o Compass, mas mais barato", "vague", 6, 8, 11, 13, 16, 35, 36, 38, 39),
    _q("algo pra trabalho pesado no campo", "vague", 3, 14, 26, 28, 41),
    _q("carro que não gaste gasolina", "vague", 40, 19),
    _q("primeiro carro barato pra minha filha", "vague", 12, 15, 18, 23, 31),
    _q("carro pra cidade, fácil de estacionar", "vague", 4, 10, 15, 18, 31),
    _q("quero um carro grande pra levar a família toda", "vague", 20, 29, 37),
    _q("preciso de uma caminhonete", "vague", 3, 14, 25, 26, 28, 32, 41),
    _q("um sedã confortável pra viajar", "vague", 1, 5, 21, 24, 30),
    _q("carro com teto solar", "vague", 5, 11, 34, 37),
    _q("um suv mais em conta", "vague", 9, 13, 29, 36, 39),
    _q("carro que aguenta estrada de terra", "vague", 3, 13, 14, 36, 38, 41),
    _q("quero um carro esportivo", "vague", 5, 7, 9),
    _q("algo com manutenção barata", "vague", 12, 18, 23, 33),
    _q("carro de luxo, bem acabado", "vague", 5, 11, 25, 28, 37),
    _q("automático e econômico, até 100 mil", "vague", 4, 7, 22, 27),
    _q("carro com bastante espaço no porta-malas", "vague", 6, 21, 24, 33),
    _q("um carro seguro, com muitos airbags", "vague", 5, 7, 11, 19),
    _q("preciso puxar um barco, rebocar uma lancha", "vague", 3, 25, 28, 41),
    _q("quero um carro que gaste pouco combustível", "vague", 4, 10, 19, 21, 31, 40),
    _q("utilitário pequeno pra fazer entregas", "vague", 26, 32),
    _q("suv com cara de jipe", "vague", 17, 36, 38),
    _q("carro praticamente novo, pouco rodado", "vague", 8, 16, 19, 40, 42),
    _q("algo parecido com a hilux, só que mais barato", "vague", 14, 25, 28, 41),
)
