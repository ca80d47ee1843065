"""What a dealership manager reads each morning: per day, from the DuckDB file.

Days are the dealership's (America/Sao_Paulo). Per day: conversations, new leads (conversations
whose first turn ever fell that day), bursts answered, median and p95 reply latency, handoffs,
test drives booked, opt-outs, the makes and models most shown in answer to searches, and the
re-engagement messages sent, with how many got a reply within 72 h.

Each query opens the file read-only and closes it again: the exporter needs it free to write.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zapq.analytics.duckdb_file import open_file
from zapq.conversation.when import SAO_PAULO

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

MAX_DAYS = 366
DEFAULT_DAYS = 7
TOP_N = 5
REPLY_WINDOW = "72 hours"


class InvalidParameter(ValueError):
    """A report parameter that cannot be used; `name` says which."""

    def __init__(self, name: str, detail: str) -> None:
        super().__init__(f"{name} {detail}")
        self.name = name


def parse_range(
    from_text: str | None, to_text: str | None, today: dt.date | None = None
) -> tuple[dt.date, dt.date]:
    """`from` and `to` (inclusive, YYYY-MM-DD); unset, the last 7 days up to today (dealership time)."""
    today = today or dt.datetime.now(SAO_PAULO).date()
    end = _date("to", to_text) if to_text else today
    start = _date("from", from_text) if from_text else end - dt.timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise InvalidParameter("from", f"({start}) is after to ({end})")
    if (end - start).days + 1 > MAX_DAYS:
        raise InvalidParameter("to", f"is more than {MAX_DAYS} days after from")
    return start, end


def _date(name: str, text: str) -> dt.date:
    try:
        if len(text) != 10 or not text.isascii():
            raise ValueError(text)
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidParameter(name, "must be a date as YYYY-MM-DD") from None


def summarize(path: Path, start: dt.date, end: dt.date, *, wait_s: float) -> dict[str, Any]:
    """The report for days `start`..`end`; every day is there, with zeros before any turn was written."""
    days = {
        start + dt.timedelta(days=n): _empty_day(start + dt.timedelta(days=n))
        for n in range((end - start).days + 1)
    }
    if path.exists():
        with open_file(path, read_only=True, wait_s=wait_s) as duck:
            if _has_tables(duck):
                _fill(duck, start, end, days)
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "timezone": str(SAO_PAULO),
        "days": list(days.values()),
    }


def _empty_day(day: dt.date) -> dict[str, Any]:
    return {
        "day": day.isoformat(),
        "conversations": 0,
        "new_leads": 0,
        "bursts_answered": 0,
        "reply_latency_ms": {"median": None, "p95": None},
        "handoffs": 0,
        "test_drives_booked": 0,
        "opt_outs": 0,
        "top_makes": [],
        "top_models": [],
        "reengagement": {"sent": 0, "replied_within_72h": 0, "reply_rate": None},
    }


def _has_tables(duck: DuckDBPyConnection) -> bool:
    row = duck.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'turns'").fetchone()
    return bool(row and row[0])


def _fill(
    duck: DuckDBPyConnection, start: dt.date, end: dt.date, days: dict[dt.date, dict[str, Any]]
) -> None:
    window = [start, end]
    for day, conversations, answered, median, p95, handoffs, test_drives, opt_outs in duck.execute(
        "SELECT day, count(DISTINCT (phone_number_id, customer_key)),"
        " count(*) FILTER (reply_chars > 0),"
        " quantile_cont(latency_ms, 0.5) FILTER (reply_chars > 0),"
        " quantile_cont(latency_ms, 0.95) FILTER (reply_chars > 0),"
        " count(*) FILTER (handoff), count(*) FILTER (test_drive_booked), count(*) FILTER (opted_out)"
        " FROM turns WHERE day BETWEEN ? AND ? GROUP BY day",
        window,
    ).fetchall():
        days[day].update(
            conversations=conversations, bursts_answered=answered, handoffs=handoffs,
            test_drives_booked=test_drives, opt_outs=opt_outs,
            reply_latency_ms={"median": _ms(median), "p95": _ms(p95)},
        )  # fmt: skip
    # A lead is new on the day of its conversation's first turn ever, even if that is before `start`.
    for day, leads in duck.execute(
        "SELECT first_day, count(*) FROM (SELECT min(day) AS first_day FROM turns"
        " GROUP BY phone_number_id, customer_key) WHERE first_day BETWEEN ? AND ? GROUP BY first_day",
        window,
    ).fetchall():
        days[day]["new_leads"] = leads
    for field, column in (("top_makes", "vehicle_makes"), ("top_models", "vehicle_models")):
        for day, name, turns in duck.execute(
            f"SELECT day, name, count(*) AS turns FROM (SELECT day, UNNEST(list_distinct({column})) AS name"
            f" FROM turns WHERE day BETWEEN ? AND ? AND len({column}) > 0)"
            " GROUP BY day, name"
            " QUALIFY row_number() OVER (PARTITION BY day ORDER BY count(*) DESC, name) <= ?"
            " ORDER BY day, turns DESC, name",
            [*window, TOP_N],
        ).fetchall():
            days[day][field].append({"name": name, "turns": turns})
    for day, sent, replied in duck.execute(
        "SELECT day, count(*),"
        f" count(*) FILTER (replied_at IS NOT NULL AND replied_at <= sent_at + INTERVAL '{REPLY_WINDOW}')"
        " FROM reengagement_sends WHERE day BETWEEN ? AND ? GROUP BY day",
        window,
    ).fetchall():
        days[day]["reengagement"] = {
            "sent": sent,
            "replied_within_72h": replied,
            "reply_rate": round(replied / sent, 4) if sent else None,
        }


def _ms(value: float | None) -> float | None:
    return None if value is None else round(float(value), 1)
