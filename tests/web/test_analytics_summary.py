"""`GET /api/analytics/summary`: the per-day report a manager reads, checked against counts made here."""

from __future__ import annotations

import datetime as dt
import math
import random
import statistics
from collections import Counter
from typing import Any

import psycopg
import pytest

from tests.zapq.analytics.turns import turn
from zapq.analytics.exporter import export_pending, target_from_settings
from zapq.analytics.staging import stage_turn, table_exists
from zapq.conversation.seed import seed_inventory
from zapq.conversation.when import SAO_PAULO
from zapq.settings import get_settings

TOKEN = {"authorization": "Bearer test-admin-token"}  # ADMIN_API_TOKEN in tests/conftest.py
DAYS = [dt.date(2026, 11, 28), dt.date(2026, 11, 29), dt.date(2026, 11, 30)]
HANDOFF = {"type": "handoff", "reason": "asked", "summary": "..."}
OPT_OUT = {"type": "opt_out"}
BOOKING = {"type": "book_test_drive", "vehicle_id": None, "starts_at": "2026-12-02T13:00:00+00:00"}


@pytest.fixture
def analytics_file(monkeypatch: pytest.MonkeyPatch, tmp_path):  # type: ignore[no-untyped-def]
    """DUCKDB_PATH for this test; before `web_client`, which reads the settings when it starts."""
    path = tmp_path / "analytics.duckdb"
    monkeypatch.setenv("DUCKDB_PATH", str(path))
    get_settings.cache_clear()
    return path


def made_up_turns(vehicles: dict[int, tuple[str, str]]) -> list[dict[str, Any]]:
    """Turns over three days (some near midnight, São Paulo time), of 8 to 32 customers, of every kind."""
    chooser = random.Random(12)
    turns = []
    for number in range(150):
        day_index = chooser.randrange(len(DAYS))
        day = DAYS[day_index]
        local = dt.datetime.combine(day, dt.time(chooser.choice([0, 9, 14, 23]), chooser.randrange(60)))
        shown = chooser.sample(sorted(vehicles), chooser.choice([0, 0, 1, 2, 3]))
        turns.append(
            turn(
                number,
                wa_id=f"55119000000{chooser.randrange(8 + 12 * day_index):02d}",  # new customers each day
                replied_at=local.replace(tzinfo=SAO_PAULO).astimezone(dt.UTC),
                latency_ms=chooser.randrange(300, 20_000),
                actions=chooser.choice([[], [], [], [HANDOFF], [OPT_OUT], [BOOKING]]),
                vehicle_ids=shown,
                reply_text=chooser.choice(["Temos sim!", "Olá!", ""]),
            )
        )
    return turns


def expected_report(
    turns: list[dict[str, Any]], vehicles: dict[int, tuple[str, str]]
) -> list[dict[str, Any]]:
    def day_of(record: dict[str, Any]) -> dt.date:
        return dt.datetime.fromisoformat(record["replied_at"]).astimezone(SAO_PAULO).date()

    first_day: dict[str, dt.date] = {}
    for record in sorted(turns, key=day_of):
        first_day.setdefault(record["wa_id"], day_of(record))
    days = []
    for day in DAYS:
        today = [record for record in turns if day_of(record) == day]
        answered = [record for record in today if record["reply_text"]]
        latencies = sorted(
            (dt.datetime.fromisoformat(r["replied_at"]) - dt.datetime.fromisoformat(r["first_inbound_at"]))
            / dt.timedelta(milliseconds=1)
            for r in answered
        )
        makes: Counter[str] = Counter()
        models: Counter[str] = Counter()
        for record in today:
            makes.update({vehicles[v][0] for v in record["vehicle_ids"]})
            models.update({" ".join(vehicles[v]) for v in record["vehicle_ids"]})
        days.append(
            {
                "day": day.isoformat(),
                "conversations": len({r["wa_id"] for r in today}),
                "new_leads": sum(1 for first in first_day.values() if first == day),
                "bursts_answered": len(answered),
                "reply_latency_ms": {
                    "median": round(statistics.median(latencies), 1),
                    "p95": round(interpolated(latencies, 0.95), 1),
                },
                "handoffs": sum(1 for r in today if HANDOFF in r["actions"]),
                "test_drives_booked": sum(1 for r in today if BOOKING in r["actions"]),
                "opt_outs": sum(1 for r in today if OPT_OUT in r["actions"]),
                "top_makes": top(makes),
                "top_models": top(models),
            }
        )
    return days


def interpolated(ordered: list[float], fraction: float) -> float:
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def top(counts: Counter[str]) -> list[dict[str, Any]]:
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:5]
    return [{"name": name, "turns": turns} for name, turns in ranked]


def test_the_summary_matches_the_turns_day_by_day_in_the_dealerships_time(
    analytics_file, web_client, db: psycopg.Connection
):
    seed_inventory(db)
    vehicles = {row[0]: (row[1], row[2]) for row in db.execute("SELECT id, make, model FROM vehicles")}
    turns = made_up_turns(vehicles)
    for record in turns:
        stage_turn(db, record)
    export_pending(db, target_from_settings(get_settings()))

    response = web_client.get("/api/analytics/summary?from=2026-11-28&to=2026-11-30", headers=TOKEN)

    assert response.status_code == 200
    report = response.json()
    assert (report["from"], report["to"], report["timezone"]) == (
        "2026-11-28",
        "2026-11-30",
        "America/Sao_Paulo",
    )
    got = [{k: v for k, v in day.items() if k != "reengagement"} for day in report["days"]]
    assert got == expected_report(turns, vehicles)


def test_re_engagement_sent_and_replied_within_72_hours_are_counted_per_day_of_sending(
    analytics_file, web_client, db: psycopg.Connection
):
    if not table_exists(db, "reengagement_sends"):
        pytest.skip(
            "TODO(coordinator): reengagement_sends comes with the re-engagement branch's migration 0010"
        )
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    sent_at = now - dt.timedelta(days=3, hours=12)  # inside the exporter's refresh window
    replies = [dt.timedelta(hours=2), dt.timedelta(hours=80), None, None, dt.timedelta(hours=1)]
    statuses = ["sent", "sent", "sent", "sent", "refused"]  # a refused send reached nobody: not counted
    for number, (replied_after, status) in enumerate(zip(replies, statuses, strict=True)):
        db.execute(
            "INSERT INTO reengagement_sends (phone_number_id, wa_id, campaign_type, vehicle_id, subject,"
            " message_kind, status, outbound_key, sent_at, replied_at)"
            " VALUES ('100200300', %s, 'inactive_48h', NULL, %s, 'template', %s, %s, %s, %s)",
            (
                f"551190000{number:04d}", f"quiet-{number}", status, f"reengagement:{number}", sent_at,
                sent_at + replied_after if replied_after else None,
            ),
        )  # fmt: skip
    export_pending(db, target_from_settings(get_settings()))
    day = sent_at.astimezone(SAO_PAULO).date().isoformat()

    report = web_client.get(f"/api/analytics/summary?from={day}&to={day}", headers=TOKEN).json()

    assert report["days"][0]["reengagement"] == {"sent": 4, "replied_within_72h": 1, "reply_rate": 0.25}


def test_before_anything_was_exported_every_day_is_there_with_zeros(analytics_file, web_client):
    response = web_client.get("/api/analytics/summary?from=2026-11-29&to=2026-11-30", headers=TOKEN)

    assert response.status_code == 200
    assert [(d["day"], d["bursts_answered"]) for d in response.json()["days"]] == [
        ("2026-11-29", 0), ("2026-11-30", 0),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("from=2026-13-01&to=2026-12-02", "from"),
        ("from=2026-12-01&to=yesterday", "to"),
        ("from=2026-12-05&to=2026-12-01", "from"),
        ("from=2024-01-01&to=2026-12-01", "to"),
        ("from=2026-12-01&day=2026-12-02", "day"),
    ],
    ids=["bad-from", "bad-to", "from-after-to", "too-long", "unknown"],
)
def test_a_bad_parameter_is_a_400_that_names_it(analytics_file, web_client, query, named):
    response = web_client.get(f"/api/analytics/summary?{query}", headers=TOKEN)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_parameter"
    assert response.json()["detail"].split()[0] == named or f"parameter {named}" in response.json()["detail"]


def test_the_summary_needs_the_admin_token(analytics_file, web_client):
    response = web_client.get("/api/analytics/summary", headers={"authorization": "Bearer wrong"})

    assert response.status_code == 401
