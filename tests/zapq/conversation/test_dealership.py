"""The dealership's facts: hours read as a person writes them, an honest financing simulation."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from zapq.conversation.dealership import (
    DEFAULT_OPENING_HOURS,
    Financing,
    OpeningHours,
    dealership_from_settings,
)
from zapq.settings import SettingsError, parse_settings

MONDAY = dt.date(2025, 11, 17)
SATURDAY = dt.date(2025, 11, 22)
SUNDAY = dt.date(2025, 11, 23)


def test_default_hours_are_weekdays_nine_to_six_and_saturday_morning():
    hours = OpeningHours.parse(DEFAULT_OPENING_HOURS)

    assert hours.describe() == "de segunda a sexta, das 9h às 18h, e aos sábados, das 9h às 13h"
    assert hours.on(MONDAY) == (dt.time(9), dt.time(18))
    assert hours.on(SUNDAY) is None
    assert hours.describe_day(SATURDAY) == "das 9h às 13h"
    assert hours.describe_day(SUNDAY) == "fechado"


def test_hours_with_minutes_accents_and_a_sunday_are_read_and_described():
    hours = OpeningHours.parse("seg-sex 8:30-18; sáb 9-13; dom 10:00-14:00")

    assert hours.describe() == (
        "de segunda a sexta, das 8h30 às 18h, aos sábados, das 9h às 13h, e aos domingos, das 10h às 14h"
    )
    assert hours.is_open_at(dt.datetime.combine(MONDAY, dt.time(8, 30)))
    assert not hours.is_open_at(dt.datetime.combine(MONDAY, dt.time(18, 0)))


@pytest.mark.parametrize(
    "text", ["", "seg-sex", "seg-sex 18-9", "sex-seg 9-18", "segunda 9-18", "seg 25-26", "seg 9:75-18"]
)
def test_hours_that_cannot_be_read_are_refused_naming_the_part(text: str):
    with pytest.raises(ValueError):
        OpeningHours.parse(text)


def test_the_instalment_follows_the_price_table():
    financing = Financing(("Banco Itaú",), Decimal("1.69"), (24, 36, 48, 60), 20)

    assert financing.min_down_payment(Decimal(100_000)) == Decimal("20000.00")
    assert financing.installment(Decimal(100_000), Decimal(20_000), 48) == Decimal("2446.38")
    assert Financing((), Decimal(0), (10,), 0).installment(Decimal(1000), Decimal(0), 10) == Decimal("100.00")
    assert financing.installment(Decimal(1000), Decimal(5000), 12) == Decimal("0.00")


def test_the_facts_come_from_the_environment():
    settings = parse_settings(
        {
            "DEALERSHIP_NAME": "Auto Sul",
            "DEALERSHIP_OPENING_HOURS": "seg-sab 8-20",
            "FINANCING_PARTNERS": "Bradesco, , Caixa",
            "FINANCING_TERMS_MONTHS": "12, 24",
            "FINANCING_MONTHLY_RATE_PCT": "0.99",
        }
    )

    facts = dealership_from_settings(settings)

    assert (facts.name, facts.financing.partners, facts.financing.terms_months) == (
        "Auto Sul",
        ("Bradesco", "Caixa"),
        (12, 24),
    )
    assert facts.financing.monthly_rate_pct == Decimal("0.99")
    assert facts.opening_hours.describe() == "de segunda a sábado, das 8h às 20h"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DEALERSHIP_OPENING_HOURS", "always"),
        ("FINANCING_TERMS_MONTHS", "24,forever"),
        ("FINANCING_MONTHLY_RATE_PCT", "-1"),
        ("FINANCING_MIN_DOWN_PAYMENT_PCT", "101"),
    ],
)
def test_malformed_facts_are_refused_at_start_naming_the_variable(variable: str, value: str):
    with pytest.raises(SettingsError, match=variable):
        parse_settings({variable: value})
