"""analytics_processing: the per-day report over a range of a real DuckDB file, a day at a time."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest

from tests.support.task_context import RecordingContext
from tests.zapq.analytics.turns import turn
from zapq.analytics.duckdb_file import FileBusy
from zapq.analytics.exporter import ExportTarget, export_pending
from zapq.analytics.staging import stage_turn
from zapq.analytics.summary import summarize
from zapq.background.handlers import TASK_TYPES, PermanentTaskError

process = TASK_TYPES["analytics_processing"].handler
# Noon in São Paulo (UTC-3) of each day: no turn sits near a day's edge.
DAY_1, DAY_3 = dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC), dt.datetime(2026, 12, 3, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def analytics_file(db, tmp_path, environment):
    """Known turns, exported as the exporter does: Dec 1, 3 customers (4 turns, one booking a test drive);
    Dec 2, none; Dec 3, 2 customers, one of them new."""
    path = tmp_path / "analytics.duckdb"
    turns = [
        turn(1, wa_id="5511900000001", replied_at=DAY_1),
        turn(2, wa_id="5511900000001", replied_at=DAY_1 + dt.timedelta(minutes=5), latency_ms=3000),
        turn(3, wa_id="5511900000002", replied_at=DAY_1 + dt.timedelta(minutes=9),
             actions=[{"type": "book_test_drive", "vehicle_id": 1}]),
        turn(4, wa_id="5511900000003", replied_at=DAY_1 + dt.timedelta(hours=1)),
        turn(5, wa_id="5511900000001", replied_at=DAY_3),
        turn(6, wa_id="5511900000004", replied_at=DAY_3 + dt.timedelta(hours=2)),
    ]  # fmt: skip
    for recorded in turns:
        stage_turn(db, recorded)
    export_pending(db, ExportTarget(path=path, secret=b"test-customer-secret", lock_wait_s=2.0))
    environment(DUCKDB_PATH=str(path), DUCKDB_LOCK_WAIT_S="2")
    return path


def test_the_report_has_every_day_of_the_range_as_the_summary_gives_it_and_their_totals(analytics_file):
    context = RecordingContext()

    result = process(context, {"date_from": "2026-11-30", "date_to": "2026-12-03"})

    days = {day["day"]: day for day in result["days"]}
    assert list(days) == ["2026-11-30", "2026-12-01", "2026-12-02", "2026-12-03"]
    assert [days[d]["conversations"] for d in days] == [0, 3, 0, 2]
    assert [days[d]["new_leads"] for d in days] == [0, 3, 0, 1]
    assert days["2026-12-01"]["bursts_answered"] == 4 and days["2026-12-01"]["test_drives_booked"] == 1
    assert (
        result["days"]
        == summarize(analytics_file, dt.date(2026, 11, 30), dt.date(2026, 12, 3), wait_s=2)["days"]
    )
    assert result["totals"]["conversations"] == 5 and result["totals"]["new_leads"] == 4
    assert result["totals"]["test_drives_booked"] == 1
    assert (result["from"], result["to"], result["timezone"]) == (
        "2026-11-30",
        "2026-12-03",
        "America/Sao_Paulo",
    )


def test_progress_is_reported_after_each_day(analytics_file):
    context = RecordingContext()

    process(context, {"date_from": "2026-12-01", "date_to": "2026-12-03"})

    assert context.progress_reports == [
        (1 / 3, "2026-12-01: 3 conversations"), (2 / 3, "2026-12-02: 0 conversations"),
        (1.0, "2026-12-03: 2 conversations"),
    ]  # fmt: skip


def test_a_file_held_longer_than_the_wait_fails_the_attempt_to_be_retried(analytics_file, environment):
    environment(DUCKDB_LOCK_WAIT_S="0.3")
    hold = (
        f"import duckdb, sys; c = duckdb.connect({str(analytics_file)!r});"
        " print('held', flush=True); sys.stdin.read()"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", hold], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    context = RecordingContext()
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(FileBusy):
            process(context, {"date_from": "2026-12-01", "date_to": "2026-12-01"})
    finally:
        holder.communicate("")

    assert context.logged("the attempt fails, to be retried")
    assert (
        process(RecordingContext(), {"date_from": "2026-12-01", "date_to": "2026-12-01"})["totals"][
            "conversations"
        ]
        == 3
    )


def test_a_node_without_the_file_reports_zeros_and_says_so(environment, tmp_path):
    environment(DUCKDB_PATH=str(tmp_path / "absent.duckdb"))
    context = RecordingContext()

    result = process(context, {"date_from": "2026-12-01", "date_to": "2026-12-02"})

    assert result["totals"]["conversations"] == 0 and len(result["days"]) == 2
    assert context.logged("no analytics file at")


@pytest.mark.parametrize(
    ("payload", "named"),
    [({"date_from": "2026-12-03", "date_to": "2026-12-01"}, "date_from"),
     ({"date_from": "2025-01-01", "date_to": "2026-12-01"}, "date_to"),
     ({"date_from": "01/12/2026", "date_to": "2026-12-01"}, "date_from"),
     ({"date_from": "2026-12-01"}, "date_to")],
    ids=["from-after-to", "over-a-year", "not-iso", "missing"],
)  # fmt: skip
def test_a_range_that_cannot_work_is_refused_naming_the_field(payload, named):
    with pytest.raises(PermanentTaskError, match=named):
        process(RecordingContext(), payload)
