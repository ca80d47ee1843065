"""The report's days: `from` and `to` as the dealership writes them, checked before any query."""

from __future__ import annotations

import datetime as dt

import pytest

from zapq.analytics.summary import InvalidParameter, parse_range

TODAY = dt.date(2026, 12, 1)


def test_unset_the_report_is_the_last_seven_days_up_to_today():
    assert parse_range(None, None, TODAY) == (dt.date(2026, 11, 25), TODAY)
    assert parse_range("2026-11-30", None, TODAY) == (dt.date(2026, 11, 30), TODAY)


@pytest.mark.parametrize(
    ("start", "end", "named"),
    [("2026-11-31", None, "from"), (None, "01/12/2026", "to"), ("2026-12-02", "2026-12-01", "from"),
     ("2025-01-01", "2026-12-01", "to"), ("2026-1-01", None, "from")],
    ids=["no-such-day", "not-iso", "from-after-to", "over-a-year", "unpadded"],
)  # fmt: skip
def test_a_bad_day_names_its_parameter(start, end, named):
    with pytest.raises(InvalidParameter) as raised:
        parse_range(start, end, TODAY)

    assert raised.value.name == named
