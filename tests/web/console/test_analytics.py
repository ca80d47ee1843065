"""Analytics: the daily summary's charts, drawn from turns exported to a real DuckDB file."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.support.web_server import WebServer
from tests.web.console.conftest import ConsolePage, console_jwt
from tests.zapq.analytics.turns import turn
from zapq.analytics.exporter import export_pending, target_from_settings
from zapq.analytics.staging import stage_turn
from zapq.conversation.seed import seed_inventory
from zapq.conversation.when import SAO_PAULO
from zapq.settings import get_settings

DAYS = [dt.date(2026, 11, 28), dt.date(2026, 11, 29), dt.date(2026, 11, 30)]
HANDOFF = {"type": "handoff", "reason": "asked", "summary": "..."}
BOOKING = {"type": "book_test_drive", "vehicle_id": None, "starts_at": "2026-12-02T13:00:00+00:00"}
RANGE = "from=2026-11-28&to=2026-11-30"


@pytest.fixture
def analytics_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """DUCKDB_PATH for this test; asked for before the web app starts, which reads it."""
    path = tmp_path / "analytics.duckdb"
    monkeypatch.setenv("DUCKDB_PATH", str(path))
    get_settings.cache_clear()
    return path


@pytest.fixture
def exported(analytics_file: Path, db: psycopg.Connection) -> list[dict[str, Any]]:
    """Turns over three days (2, 4 and 3 replies; a handoff, two bookings), exported to the DuckDB file."""
    seed_inventory(db)
    corolla = db.execute("SELECT id FROM vehicles WHERE model = 'Corolla' LIMIT 1").fetchone()[0]
    plan = [  # (day, hour, latency ms, actions, vehicles)
        (0, 10, 1000, [], [corolla]), (0, 15, 3000, [HANDOFF], []),
        (1, 9, 2000, [], [corolla]), (1, 11, 2000, [BOOKING], []),
        (1, 14, 4000, [], []), (1, 20, 6000, [], []),
        (2, 10, 500, [BOOKING], [corolla]), (2, 12, 1500, [], []), (2, 18, 2500, [], []),
    ]  # fmt: skip
    turns = []
    for number, (day, hour, latency_ms, actions, vehicles) in enumerate(plan):
        local = dt.datetime.combine(DAYS[day], dt.time(hour), tzinfo=SAO_PAULO)
        turns.append(turn(number, replied_at=local.astimezone(dt.UTC), latency_ms=latency_ms, actions=actions,
                          vehicle_ids=vehicles))  # fmt: skip
        stage_turn(db, turns[-1])
    export_pending(db, target_from_settings(get_settings()))
    assert analytics_file.exists()
    return turns


def sparkline_points(console: ConsolePage, card: str) -> list[tuple[float, float]]:
    points = console.page.get_attribute(f"#{card} svg polyline", "points") or ""
    return [(float(x), float(y)) for x, y in (pair.split(",") for pair in points.split())]


def test_the_analytics_page_charts_the_exported_days(
    exported: list[dict[str, Any]], console: ConsolePage
) -> None:
    console.login()
    console.goto("analytics", RANGE)
    console.page.wait_for_selector("#an-replies .stat[data-total='9']")
    totals = {
        card: console.page.get_attribute(f"#{card} .stat", "data-total")
        for card in ("an-replies", "an-handoffs", "an-test-drives", "an-latency")
    }
    assert totals == {"an-replies": "9", "an-handoffs": "1", "an-test-drives": "2", "an-latency": "3000"}
    replies = sparkline_points(console, "an-replies")
    assert len(replies) == 3
    assert min(replies, key=lambda p: p[1]) == replies[1]  # the highest point: the day with 4 replies
    assert console.page.locator("#an-days tr").count() == 3
    assert console.page.inner_text("#an-days tr[data-day='2026-11-29']").split("\t")[3] == "4"
    assert "Toyota" in console.page.inner_text("#an-makes")
    assert console.page.locator("#an-makes .bar-row").count() >= 1
    assert console.console_errors == []
    console.screenshot("analytics")
    console.screenshot("analytics-phone", phone=True)


def test_re_engagement_replies_are_charted_on_the_day_the_messages_went_out(
    analytics_file: Path, db: psycopg.Connection, console: ConsolePage
) -> None:
    sent_at = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=3, hours=12)
    for number, replied_after in enumerate([dt.timedelta(hours=2), None, dt.timedelta(hours=80)]):
        db.execute(
            "INSERT INTO reengagement_sends (phone_number_id, wa_id, campaign_type, vehicle_id, subject,"
            " message_kind, status, outbound_key, sent_at, replied_at)"
            " VALUES ('100200300', %s, 'inactive_48h', NULL, %s, 'template', 'sent', %s, %s, %s)",
            (f"551190000{number:04d}", f"quiet-{number}", f"reengagement:{number}", sent_at,
             sent_at + replied_after if replied_after else None),
        )  # fmt: skip
    export_pending(db, target_from_settings(get_settings()))
    day = sent_at.astimezone(SAO_PAULO).date().isoformat()

    console.login()
    console.goto("analytics", f"from={day}&to={day}")
    console.page.wait_for_selector("#an-reengagement .stat[data-total='1']")
    assert "1 of 3 sent replied within 72 h (33%)" in console.page.inner_text("#an-reengagement")
    assert console.page.inner_text(f"#an-days tr[data-day='{day}']").split("\t")[-1] == "1/3"


def test_the_analytics_api_is_for_admins_and_names_a_bad_parameter(
    analytics_file: Path, console_api: httpx.Client, console_server: WebServer,
    wait_until: Callable[..., None],
) -> None:  # fmt: skip
    empty = console_api.get(f"/api/console/analytics?{RANGE}")
    assert empty.status_code == 200
    assert [(d["day"], d["bursts_answered"]) for d in empty.json()["days"]] == [
        ("2026-11-28", 0), ("2026-11-29", 0), ("2026-11-30", 0),
    ]  # fmt: skip
    assert httpx.get(f"{console_server.url}/api/console/analytics").status_code == 401
    agent = {"Authorization": f"Bearer {console_jwt('agent')}"}
    forbidden = console_api.get("/api/console/analytics", headers=agent)
    assert forbidden.status_code == 403 and forbidden.json()["error"] == "forbidden"
    for query, named in [
        ("from=2026-13-01", "from"), ("to=yesterday", "to"), ("from=2026-12-05&to=2026-12-01", "from"),
        ("from=2020-01-01&to=2026-12-01", "to"), ("day=2026-12-02", "day"), ("from=%00", "from"),
    ]:  # fmt: skip
        answer = console_api.get(f"/api/console/analytics?{query}")
        assert answer.status_code == 400 and answer.json()["error"] == "invalid_parameter", query
        assert named in answer.json()["detail"], query
