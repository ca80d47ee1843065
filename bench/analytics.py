"""Analytics in DuckDB: how fast turns reach the file, and how fast the manager's report reads it.

**Ingest** (`duckdb_turns_per_s`): BENCH_ANALYTICS_TURNS (20,000) `save_session_to_duckdb`
messages, staged and made visible at once (RENAME, as in `bench.middleware_throughput`), run
by 2 worker processes x 8 threads of the real `actors` package: each stages its turn in
PostgreSQL and triggers the exporter, which appends batches to a fresh DuckDB file. The clock
runs from the RENAME until the file holds every turn. Meanwhile a reader polls the file
read-only, as the report does: `analytics_read_while_writing_p50_ms` and `_max_ms` are how long
one open-count-close took, waiting included. The baseline, in the same run and process, is the
naive alternative the design avoids: the same turns inserted one row per INSERT
(`duckdb_row_at_a_time_inserts_per_s`; `duckdb_batched_vs_row_at_a_time` is the ratio of the
whole pipeline, PostgreSQL and broker included, to those bare inserts).

**Report** (`analytics_summary_1m_turns_s`): a file of 1,000,000 generated turns (90 days,
100,000 customers, makes and models on a third of them) and the 30-day summary over it, as
`GET /api/analytics/summary` runs it (open read-only, query, close): the median of 5 runs.
`analytics_summary_1m_turns_year_s` is the same over the whole 90 days (366 days asked).
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import time
from pathlib import Path

import dramatiq
import duckdb
import psycopg
import redis

from bench.support import ROOT, WorkerGroup, prepare_environment, report, stage_messages
from zapq.analytics.duckdb_file import create_tables, open_file
from zapq.analytics.summary import summarize
from zapq.keyspace import queue_key
from zapq.queues import LOW_PRIORITY

TURNS = int(os.environ.get("BENCH_ANALYTICS_TURNS", "20000"))
TIMEOUT_S = float(os.environ.get("BENCH_ANALYTICS_TIMEOUT_S", "300"))
BASELINE_ROWS = 2000
MILLION = 1_000_000


def main() -> None:
    files = ROOT / "var" / "bench"
    files.mkdir(parents=True, exist_ok=True)
    ingest(files / "analytics-ingest.duckdb")
    summary(files / "analytics-1m.duckdb")


def ingest(path: Path) -> None:
    for stale in (path, path.with_suffix(".duckdb.wal")):
        stale.unlink(missing_ok=True)
    os.environ["DUCKDB_PATH"] = str(path)  # the workers inherit it
    prepare_environment()
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as connection:
        connection.execute("TRUNCATE conversation_turns")  # a fresh file re-exports whatever is staged
    turns = [bench_turn(number) for number in range(TURNS)]
    with WorkerGroup("actors", processes=2, threads=8):
        from actors.analytics import save_session_to_duckdb

        broker = dramatiq.get_broker()
        client: redis.Redis = broker.client  # type: ignore[attr-defined]
        namespace: str = broker.namespace  # type: ignore[attr-defined]
        staging = stage_messages(
            client, namespace, LOW_PRIORITY, (save_session_to_duckdb.message(t) for t in turns)
        )
        started = time.monotonic()
        client.rename(staging, queue_key(namespace, LOW_PRIORITY))
        reads: list[float] = []
        count = 0
        while count < TURNS and time.monotonic() - started < TIMEOUT_S:
            read_started = time.monotonic()
            count = exported(path)
            reads.append((time.monotonic() - read_started) * 1000)
            time.sleep(0.1)
        elapsed = time.monotonic() - started
    baseline = row_at_a_time_per_s(path.with_name("analytics-baseline.duckdb"))
    rate = count / elapsed
    report("duckdb_turns_per_s", round(rate))
    if count < TURNS:
        report("duckdb_ingest_timed_out", f"after {TIMEOUT_S:.0f} s: {count}/{TURNS} turns in DuckDB")
    report("duckdb_row_at_a_time_inserts_per_s", round(baseline))
    report("duckdb_batched_vs_row_at_a_time", round(rate / baseline, 2))
    report("analytics_read_while_writing_p50_ms", round(statistics.median(reads), 1))
    report("analytics_read_while_writing_max_ms", round(max(reads), 1))


def bench_turn(number: int) -> dict[str, object]:
    """A turn as `zapq.conversation.burst` records it: 2,000 customers, a search answered in 1.5 s."""
    replied_at = dt.datetime(2026, 12, 1, 15, tzinfo=dt.UTC) + dt.timedelta(milliseconds=50 * number)
    return {
        "batch_id": f"bench-{number}", "phone_number_id": "100200300", "wa_id": f"5511{number % 2000:09d}",
        "inbound_wamids": [f"wamid.{number}"], "inbound_text": "tem Corolla?", "reply_text": "Temos sim!",
        "reply_status": "sent", "engine": "rules", "actions": [], "intent": "search",
        "inbound_kinds": ["text"], "vehicle_ids": [], "replied_at": replied_at.isoformat(),
        "first_inbound_at": (replied_at - dt.timedelta(seconds=1.5)).isoformat(),
    }  # fmt: skip


def exported(path: Path) -> int:
    if not path.exists():
        return 0
    with open_file(path, read_only=True, wait_s=30.0) as duck:
        try:
            row = duck.execute("SELECT count(*) FROM turns").fetchone()
        except duckdb.CatalogException:
            return 0
    return int(row[0]) if row else 0


def row_at_a_time_per_s(path: Path) -> float:
    path.unlink(missing_ok=True)
    now = dt.datetime.now(dt.UTC)
    with duckdb.connect(str(path)) as duck:
        create_tables(duck)
        started = time.monotonic()
        for number in range(BASELINE_ROWS):
            duck.execute(
                "INSERT INTO turns VALUES (?, ?, '100200300', 'k', 2, ['text'], 10, 'sent', 'rules',"
                " 'search', [], false, false, false, [], [], [], 1500, ?, ?, ?)",
                [number, f"b-{number}", now, now, now.date()],
            )
        elapsed = time.monotonic() - started
    path.unlink(missing_ok=True)
    return BASELINE_ROWS / elapsed


def summary(path: Path) -> None:
    if not path.exists():
        generate_million(path)
    end = dt.date(2026, 11, 29)
    month, year = (
        timed(path, end - dt.timedelta(days=29), end),
        timed(path, end - dt.timedelta(days=365), end),
    )
    report("analytics_summary_1m_turns_s", round(month, 3))
    report("analytics_summary_1m_turns_year_s", round(year, 3))


def timed(path: Path, start: dt.date, end: dt.date) -> float:
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        summarize(path, start, end, wait_s=1.0)
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def generate_million(path: Path) -> None:
    """1M turns over the 90 days up to 2026-11-29, spread as a dealership's would be."""
    draft = path.with_suffix(".draft")
    draft.unlink(missing_ok=True)
    with duckdb.connect(str(draft)) as duck:
        create_tables(duck)
        duck.execute(
            """
            INSERT INTO turns
            SELECT i, 'bench-' || i, '100200300', printf('%016x', hash(i % 100000)), 2, ['text', 'text'],
                CASE WHEN i % 10 = 0 THEN 0 ELSE 120 END, 'sent', 'rules',
                ['greeting', 'search', 'price', 'test-drive', 'handoff', 'opt-out', 'fallback'][i % 7 + 1],
                CASE i % 50 WHEN 0 THEN ['handoff'] WHEN 1 THEN ['opt_out'] WHEN 2 THEN ['book_test_drive']
                    ELSE [] END,
                i % 50 = 0, i % 50 = 1, i % 50 = 2,
                CASE WHEN i % 3 = 0 THEN [i % 42 + 1, (i + 7) % 42 + 1] ELSE [] END,
                CASE WHEN i % 3 = 0 THEN [m[i % 7 + 1], m[(i + 3) % 7 + 1]] ELSE [] END,
                CASE WHEN i % 3 = 0 THEN [m[i % 7 + 1] || ' ' || n[i % 5 + 1]] ELSE [] END,
                (hash(i) % 20000)::INTEGER, ts - INTERVAL 2 SECOND, ts, (ts - INTERVAL 3 HOUR)::DATE
            FROM (
                SELECT i, TIMESTAMPTZ '2026-08-31 03:00:00+00' + to_seconds(i * 90 * 86400 // 1000000) AS ts,
                    ['Toyota', 'Fiat', 'VW', 'Jeep', 'Honda', 'Hyundai', 'Chevrolet'] AS m,
                    ['Corolla', 'Argo', 'Nivus', 'Compass', 'Civic'] AS n
                FROM range(?) t(i)
            )
            """,
            [MILLION],
        )
    draft.rename(path)


if __name__ == "__main__":
    main()
