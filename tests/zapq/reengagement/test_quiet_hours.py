"""Quiet hours: a daily span in the customers' zone, wrapping midnight, ending at a known instant."""

from __future__ import annotations

import datetime as dt

import pytest

from zapq.reengagement.quiet_hours import QuietHours

SAO_PAULO = QuietHours.parse("21:00-09:00", "America/Sao_Paulo")


def local(hour: int, minute: int = 0, day: int = 10) -> dt.datetime:
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=SAO_PAULO.zone)


def test_late_evening_is_quiet_until_nine_the_next_morning():
    assert SAO_PAULO.ends_at(local(22, 30)) == local(9, 0, day=11)


def test_early_morning_is_quiet_until_nine_the_same_morning():
    assert SAO_PAULO.ends_at(local(3)) == local(9)


def test_the_day_is_not_quiet_and_nine_sharp_is_already_allowed():
    assert SAO_PAULO.ends_at(local(9)) is None
    assert SAO_PAULO.ends_at(local(20, 59)) is None


def test_the_span_is_read_in_the_customers_zone_whatever_the_clock_of_the_worker():
    utc_midnight = dt.datetime(2026, 12, 11, 0, 0, tzinfo=dt.UTC)  # 21:00 in São Paulo (UTC-3)
    assert SAO_PAULO.ends_at(utc_midnight) == local(9, 0, day=11)


def test_a_span_within_one_day_and_with_seconds():
    lunch = QuietHours.parse("12:00:00-13:30:15", "America/Sao_Paulo")
    assert lunch.ends_at(local(12, 10)) == local(13, 30).replace(second=15)
    assert lunch.ends_at(local(14)) is None


def test_an_empty_span_is_never_quiet():
    assert QuietHours.parse("00:00-00:00", "UTC").ends_at(local(3)) is None


@pytest.mark.parametrize(
    "span", ["21h-9h", "25:00-09:00", "21:00", ""], ids=["words", "hour", "half", "empty"]
)
def test_malformed_spans_are_refused(span: str):
    with pytest.raises(ValueError):
        QuietHours.parse(span, "America/Sao_Paulo")
