"""When the rules engine asks semantic search: a described need or a comparison, never a name or noise."""

from __future__ import annotations

import pytest

from zapq.conversation.reading import fold
from zapq.conversation.vague_requests import compares_with_a_car, describes_a_need


@pytest.mark.parametrize(
    "text",
    [
        "quero um carro econômico pra família",
        "procuro algo pra trabalho pesado no campo",
        "preciso de uma caminhonete",
        "tô atrás de um veículo confortável pra viajar",
    ],
)
def test_a_car_described_by_what_it_should_be_is_a_need(text: str):
    assert describes_a_need(fold(text))


@pytest.mark.parametrize("text", ["asdfgh", "carro?", "oi", "bom dia pra você"])
def test_noise_and_short_words_are_not_a_need(text: str):
    assert not describes_a_need(fold(text))


@pytest.mark.parametrize(
    ("text", "compares"),
    [
        ("algo parecido com o Compass, mas mais barato", True),
        ("tem algum tipo o HR-V?", True),
        ("um similar ao Corolla", True),
        ("tem Compass?", False),
        ("qual a diferença entre o HR-V e o Compass?", False),
    ],
)
def test_a_car_named_as_a_reference_is_a_comparison(text: str, compares: bool):
    assert compares_with_a_car(fold(text)) is compares
