from __future__ import annotations

import datetime as dt

from zapq.conversation.dealership import DEFAULT_OPENING_HOURS, OpeningHours
from zapq.conversation.when import (
    SAO_PAULO,
    describe_slot,
    find_day,
    find_days,
    find_time,
    local_now,
    slot_problem,
)

WEDNESDAY = dt.date(2025, 11, 19)


def test_relative_days_count_from_the_day_the_customer_wrote():
    assert find_day("pode ser amanha?", WEDNESDAY) == dt.date(2025, 11, 20)
    assert find_day("depois de amanha", WEDNESDAY) == dt.date(2025, 11, 21)
    assert find_day("hoje mesmo", WEDNESDAY) == WEDNESDAY


def test_a_weekday_means_its_next_occurrence():
    assert find_day("no sabado", WEDNESDAY) == dt.date(2025, 11, 22)
    assert find_day("segunda-feira", WEDNESDAY) == dt.date(2025, 11, 24)
    assert find_day("quarta", WEDNESDAY) == dt.date(2025, 11, 26)  # today's weekday: next week


def test_a_date_without_a_year_that_has_passed_is_next_years():
    assert find_day("dia 25/11", WEDNESDAY) == dt.date(2025, 11, 25)
    assert find_day("10/01", WEDNESDAY) == dt.date(2026, 1, 10)
    assert find_day("05/12/2025", WEDNESDAY) == dt.date(2025, 12, 5)
    assert find_day("dia 3", WEDNESDAY) == dt.date(2025, 12, 3)
    assert find_day("31/02", WEDNESDAY) is None


def test_times_are_read_in_the_ways_customers_write_them():
    assert find_time("as 10h") == dt.time(10, 0)
    assert find_time("14:30") == dt.time(14, 30)
    assert find_time("10h30 pode ser") == dt.time(10, 30)
    assert find_time("as 3 da tarde") == dt.time(15, 0)
    assert find_time("meio-dia") == dt.time(12, 0)
    assert find_time("10", bare_hour=True) == dt.time(10, 0)


def test_years_models_prices_and_dates_are_not_times():
    for text in ["corolla 2024", "tem hb20?", "ate 120 mil", "25/11", "10"]:
        assert find_time(text) is None, text


HOURS = OpeningHours.parse(DEFAULT_OPENING_HOURS)


def test_a_slot_must_be_in_the_future_and_within_opening_hours():
    now = local_now(dt.datetime(2025, 11, 19, 13, 0, tzinfo=dt.UTC))

    assert now.hour == 10
    assert (
        slot_problem(dt.datetime(2025, 11, 19, 9, 0, tzinfo=SAO_PAULO), now, HOURS)
        == "Esse horário já passou."
    )
    assert (
        slot_problem(dt.datetime(2025, 11, 23, 10, 0, tzinfo=SAO_PAULO), now, HOURS)
        == "Nesse dia a loja não abre."
    )
    assert (
        slot_problem(dt.datetime(2025, 11, 22, 14, 0, tzinfo=SAO_PAULO), now, HOURS) is not None
    )  # Saturday afternoon
    assert slot_problem(dt.datetime(2025, 11, 22, 12, 30, tzinfo=SAO_PAULO), now, HOURS) is None


def test_a_slot_is_described_on_the_dealerships_clock():
    assert describe_slot(dt.datetime(2025, 11, 22, 13, 0, tzinfo=dt.UTC)) == "sábado, 22/11, às 10:00"


def test_every_day_named_is_found_in_order():
    today = dt.date(2025, 11, 19)

    mentions = find_days("o de sexta para 25/11 ou depois de amanha", today)

    assert [(mention.day, mention.how) for mention in mentions] == [
        (dt.date(2025, 11, 21), "weekday"),
        (dt.date(2025, 11, 25), "date"),
        (dt.date(2025, 11, 21), "relative"),
    ]
    assert find_day("sexta ou 25/11", today) == dt.date(2025, 11, 25)  # a date wins over a weekday
