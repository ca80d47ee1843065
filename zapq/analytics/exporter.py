"""The one exporter: what PostgreSQL staged goes into the DuckDB file, each record exactly once.

Any number of workers may call `export_pending` at once, on any machine; one at a time does the
work, the one holding a PostgreSQL session advisory lock (released by PostgreSQL when its
connection closes, so a SIGKILLed exporter never leaves it held). The holder:

1. numbers the turns nobody numbered yet (`export_seq`, from one sequence, committed at once).
   Only the holder numbers, so numbers are committed in the order they are drawn, and "above the
   high-water mark" never skips a turn that committed late;
2. opens the DuckDB file, reads the high-water mark that the file itself keeps, and in one
   DuckDB transaction appends the next batch of numbered turns above it and moves the mark to
   the last of them. A crash before COMMIT loses both, so the retry appends exactly the
   missing turns; a crash after it finds them below the mark;
3. closes the file between batches, so that readers get their turn.

Metrics snapshots (unique per tick) are copied by key, and re-engagement sends, whose reply
time changes after they are sent, by replacing the last few days in one transaction.
Whoever finds the lock taken leaves: the holder looks once more for unnumbered turns after it
lets go, and takes the lock again if there are some, so no turn waits for the next trigger.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg

from zapq.analytics.duckdb_file import FileBusy, create_tables, open_file
from zapq.analytics.staging import table_exists
from zapq.conversation.when import SAO_PAULO
from zapq.customer_ids import customer_key, deployment_secret
from zapq.settings import Settings

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

logger = logging.getLogger(__name__)

EXPORT_LOCK_KEY = "zapq:analytics:duckdb-exporter"
TURNS_STREAM = "turns"
#: Snapshots are copied from this long before the newest one the file has: late commits land too.
SNAPSHOT_OVERLAP = dt.timedelta(hours=1)
#: Sends this recent are replaced at each export: a reply counts for 72 h after its send.
REENGAGEMENT_REFRESH = dt.timedelta(days=4)
MAX_LATENCY_MS = 2**31 - 1
#: A pause between batches, longer than a reader's retry interval: the exporter never starves a report.
BATCH_GAP_S = 0.025
#: An engine that names no intent: the one its actions imply.
_INTENT_OF_ACTION = {"handoff": "handoff", "opt_out": "opt-out", "book_test_drive": "test-drive"}


class ExportOutcome(enum.Enum):
    DONE = "done"  # nothing left to export
    LOCKED = "locked"  # another exporter holds the lock (and will take what is left)
    FILE_BUSY = "file_busy"  # readers held the file past DUCKDB_LOCK_WAIT_S: left for the next trigger
    TIME_UP = "time_up"  # the run's time budget is spent: the caller triggers another
    ELSEWHERE = "elsewhere"  # the file lives on another node (analytics_exporter): not ours to write


@dataclass(frozen=True)
class ExportTarget:
    path: Path
    secret: bytes  # the customer-id HMAC key (zapq.customer_ids)
    batch_size: int = 5000
    lock_wait_s: float = 10.0
    time_budget_s: float = 60.0


@dataclass(frozen=True)
class ExportReport:
    outcome: ExportOutcome
    turns: int
    batches: int


def target_from_settings(settings: Settings) -> ExportTarget:
    return ExportTarget(
        path=settings.analytics_path,
        secret=deployment_secret(settings),
        batch_size=settings.duckdb_export_batch,
        lock_wait_s=settings.duckdb_lock_wait_s,
    )


def export_pending(connection: psycopg.Connection, target: ExportTarget) -> ExportReport:
    """Export everything staged, unless another exporter is at it. `connection` must be autocommit."""
    deadline = time.monotonic() + target.time_budget_s
    turns = batches = 0
    while True:
        if not _try_lock(connection):
            return ExportReport(ExportOutcome.LOCKED, turns, batches)
        try:
            if not _file_is_ours(connection, target.path):
                return ExportReport(ExportOutcome.ELSEWHERE, turns, batches)
            outcome, exported, written = _export_locked(connection, target, deadline)
        finally:
            _unlock(connection)
        turns, batches = turns + exported, batches + written
        if outcome is not ExportOutcome.DONE or not _unnumbered_remain(connection):
            return ExportReport(outcome, turns, batches)


def _file_is_ours(connection: psycopg.Connection, path: Path) -> bool:
    """The first exporter claims the file for its host and path; any other stays out, and says so."""
    here = (socket.gethostname(), str(path.resolve()))
    row = connection.execute(
        "WITH claim AS (INSERT INTO analytics_exporter (host, path) VALUES (%s, %s)"
        " ON CONFLICT (only_one) DO NOTHING RETURNING host, path)"
        " SELECT host, path FROM claim UNION ALL SELECT host, path FROM analytics_exporter",
        here,
    ).fetchone()
    if row is None or tuple(row) == here:
        return True
    logger.warning(
        "not exporting analytics here (%s:%s): the DuckDB file is %s:%s; consume the `analytics` queue"
        " only there (WORKER_QUEUES), or delete the analytics_exporter row to move it",
        *here, *row,
    )  # fmt: skip
    return False


def _try_lock(connection: psycopg.Connection) -> bool:
    row = connection.execute(
        "SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (EXPORT_LOCK_KEY,)
    ).fetchone()
    return bool(row and row[0])


def _unlock(connection: psycopg.Connection) -> None:
    if not connection.closed and not connection.broken:
        connection.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (EXPORT_LOCK_KEY,))


def _unnumbered_remain(connection: psycopg.Connection) -> bool:
    row = connection.execute("SELECT EXISTS (SELECT 1 FROM conversation_turns WHERE export_seq IS NULL)")
    found = row.fetchone()
    return bool(found and found[0])


def _export_locked(
    connection: psycopg.Connection, target: ExportTarget, deadline: float
) -> tuple[ExportOutcome, int, int]:
    """Batches until none is full; the file is held only to append one, never across PostgreSQL reads."""
    turns = batches = 0
    high_water: int | None = None
    first = True
    try:
        while True:
            if time.monotonic() > deadline:
                return ExportOutcome.TIME_UP, turns, batches
            if high_water is None:
                with open_file(target.path, read_only=False, wait_s=target.lock_wait_s) as duck:
                    create_tables(duck)
                    high_water = _high_water(duck)
                _sequence_not_below(connection, high_water)
            numbered = _number_new_turns(connection, target.batch_size)
            rows = _numbered_turns(connection, high_water, target.batch_size)
            columns = _turn_columns(rows, target.secret)
            with open_file(target.path, read_only=False, wait_s=target.lock_wait_s) as duck:
                duck.begin()
                if _high_water(duck) != high_water:  # the file was replaced or restored meanwhile
                    duck.rollback()
                    high_water = None
                    continue
                if rows:
                    _append_turns(duck, columns, last_seq=rows[-1][0])
                if first:
                    _copy_snapshots(connection, duck)
                    _refresh_reengagement(connection, duck, target.secret)
                duck.commit()
            first = False
            high_water = rows[-1][0] if rows else high_water
            turns += len(rows)
            batches += 1 if rows else 0
            if len(rows) < target.batch_size and numbered < target.batch_size:
                return ExportOutcome.DONE, turns, batches
            time.sleep(BATCH_GAP_S)  # readers waiting for the file get in here
    except FileBusy as busy:
        logger.info("analytics export waits for the next trigger: %s", busy)
        return ExportOutcome.FILE_BUSY, turns, batches


def _high_water(duck: DuckDBPyConnection) -> int:
    row = duck.execute("SELECT high_water FROM export_state WHERE stream = ?", [TURNS_STREAM]).fetchone()
    return int(row[0]) if row else 0


def _sequence_not_below(connection: psycopg.Connection, high_water: int) -> None:
    """A file newer than the staging area (PostgreSQL restored, or replaced) must not hide new turns."""
    connection.execute(
        "SELECT setval('conversation_turns_export_seq', %s) FROM conversation_turns_export_seq"
        " WHERE %s > 0 AND (last_value < %s OR NOT is_called)",
        (high_water, high_water, high_water),
    )


def _number_new_turns(connection: psycopg.Connection, limit: int) -> int:
    cursor = connection.execute(
        "UPDATE conversation_turns SET export_seq = nextval('conversation_turns_export_seq')"
        " WHERE batch_id IN (SELECT batch_id FROM conversation_turns WHERE export_seq IS NULL"
        " ORDER BY recorded_at LIMIT %s)",
        (limit,),
    )
    return cursor.rowcount


_TURN_COLUMNS = (
    "t.export_seq, t.batch_id, t.phone_number_id, t.wa_id, cardinality(t.inbound_wamids), t.inbound_kinds,"
    " char_length(t.reply_text), t.reply_status, t.engine, t.intent, t.actions, t.vehicle_ids,"
    " ARRAY(SELECT v.make FROM unnest(t.vehicle_ids) WITH ORDINALITY s(id, n)"
    " JOIN vehicles v ON v.id = s.id ORDER BY s.n),"
    " ARRAY(SELECT v.make || ' ' || v.model FROM unnest(t.vehicle_ids) WITH ORDINALITY s(id, n)"
    " JOIN vehicles v ON v.id = s.id ORDER BY s.n),"
    " t.first_inbound_at, t.replied_at"
)


def _numbered_turns(connection: psycopg.Connection, above: int, limit: int) -> list[tuple[Any, ...]]:
    return connection.execute(
        f"SELECT {_TURN_COLUMNS} FROM conversation_turns t"
        " WHERE t.export_seq > %s ORDER BY t.export_seq LIMIT %s",
        (above, limit),
    ).fetchall()


def _turn_columns(rows: list[tuple[Any, ...]], secret: bytes) -> list[list[Any]]:
    """The batch column by column, as one INSERT takes it (DuckDB is columnar)."""
    columns: list[list[Any]] = [[] for _ in _TURN_TYPES]
    for row in rows:
        (seq, turn_id, number, wa_id, inbound_count, kinds, reply_chars, status, engine, intent, actions,
         vehicle_ids, makes, models, first_inbound_at, replied_at) = row  # fmt: skip
        tags = [str(action.get("type", "")) for action in actions if isinstance(action, dict)]
        latency_ms = int((replied_at - first_inbound_at).total_seconds() * 1000)
        values = (
            seq, turn_id, number, customer_key(wa_id, secret), inbound_count or 0, list(kinds), reply_chars,
            status, engine, intent or _intent_of(tags), tags, "handoff" in tags, "opt_out" in tags,
            "book_test_drive" in tags, list(vehicle_ids), list(makes), list(models),
            min(max(latency_ms, 0), MAX_LATENCY_MS), first_inbound_at, replied_at,
            replied_at.astimezone(SAO_PAULO).date(),
        )  # fmt: skip
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    return columns


_TURN_TYPES = (
    "BIGINT", "VARCHAR", "VARCHAR", "VARCHAR", "INTEGER", "VARCHAR[]", "INTEGER", "VARCHAR", "VARCHAR",
    "VARCHAR", "VARCHAR[]", "BOOLEAN", "BOOLEAN", "BOOLEAN", "BIGINT[]", "VARCHAR[]", "VARCHAR[]",
    "INTEGER", "TIMESTAMPTZ", "TIMESTAMPTZ", "DATE",
)  # fmt: skip
_INSERT_TURNS = "INSERT INTO turns SELECT " + ", ".join(
    f"UNNEST(${n}::{kind}[])" for n, kind in enumerate(_TURN_TYPES, start=1)
)


def _append_turns(duck: DuckDBPyConnection, columns: list[list[Any]], *, last_seq: int) -> None:
    """One INSERT for the whole batch, and the mark moved to its last turn, in the caller's transaction."""
    duck.execute(_INSERT_TURNS, columns)
    duck.execute(
        "INSERT INTO export_state VALUES (?, ?)"
        " ON CONFLICT (stream) DO UPDATE SET high_water = excluded.high_water",
        [TURNS_STREAM, last_seq],
    )


def _intent_of(tags: list[str]) -> str:
    return next((_INTENT_OF_ACTION[tag] for tag in tags if tag in _INTENT_OF_ACTION), "")


_SNAPSHOT_COLUMNS = (
    "scheduled_at, taken_at, queue_depths, delayed_depths, dead_letter_depths, in_flight,"
    " active_conversations_1h, bursts_answered_1m, reply_latency_median_5m_ms, reengagement_sent_1m"
)


def _copy_snapshots(connection: psycopg.Connection, duck: DuckDBPyConnection) -> None:
    """Snapshots the file lacks; the key (the tick) keeps each one row however often it is copied."""
    newest = duck.execute("SELECT max(scheduled_at) FROM metrics_snapshots").fetchone()
    since = newest[0] - SNAPSHOT_OVERLAP if newest and newest[0] is not None else None
    rows = connection.execute(
        f"SELECT {_SNAPSHOT_COLUMNS} FROM metrics_snapshots"
        " WHERE %s::timestamptz IS NULL OR scheduled_at > %s ORDER BY scheduled_at",
        (since, since),
    ).fetchall()
    if not rows:
        return
    columns: list[list[Any]] = [[] for _ in range(13)]
    for scheduled_at, taken_at, ready, delayed, dead, *counts in rows:
        values = (
            scheduled_at, taken_at, list(ready), [int(v) for v in ready.values()], list(delayed),
            [int(v) for v in delayed.values()], list(dead), [int(v) for v in dead.values()], *counts,
        )  # fmt: skip
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    duck.execute(
        "INSERT OR IGNORE INTO metrics_snapshots SELECT s, t, map(qk, qv), map(dk, dv), map(xk, xv),"
        " f, a, b, l, r FROM (SELECT UNNEST($1::TIMESTAMPTZ[]) s, UNNEST($2::TIMESTAMPTZ[]) t,"
        " UNNEST($3::VARCHAR[][]) qk, UNNEST($4::BIGINT[][]) qv, UNNEST($5::VARCHAR[][]) dk,"
        " UNNEST($6::BIGINT[][]) dv, UNNEST($7::VARCHAR[][]) xk, UNNEST($8::BIGINT[][]) xv,"
        " UNNEST($9::INTEGER[]) f, UNNEST($10::INTEGER[]) a, UNNEST($11::INTEGER[]) b,"
        " UNNEST($12::DOUBLE[]) l, UNNEST($13::INTEGER[]) r)",
        columns,
    )


def _refresh_reengagement(connection: psycopg.Connection, duck: DuckDBPyConnection, secret: bytes) -> None:
    """The last few days of sends, replaced whole: their replies arrive after they were sent.

    `reengagement_sends` is the re-engagement campaigns' table (migration 0010); until it exists,
    nothing. Only sends Meta took (`status = 'sent'`) count: refused and failed ones reached nobody.
    """
    if not table_exists(connection, "reengagement_sends"):
        return
    since = dt.datetime.now(dt.UTC) - REENGAGEMENT_REFRESH
    rows = connection.execute(
        "SELECT phone_number_id, wa_id, campaign_type::text, vehicle_id, sent_at, replied_at"
        " FROM reengagement_sends WHERE sent_at >= %s AND status = 'sent'",
        (since,),
    ).fetchall()
    duck.execute("DELETE FROM reengagement_sends WHERE sent_at >= ?", [since])
    if not rows:
        return
    columns: list[list[Any]] = [[] for _ in range(7)]
    for number, wa_id, campaign_type, vehicle_id, sent_at, replied_at in rows:
        values = (
            number, customer_key(wa_id, secret), campaign_type, vehicle_id, sent_at, replied_at,
            sent_at.astimezone(SAO_PAULO).date(),
        )  # fmt: skip
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    duck.execute(
        "INSERT INTO reengagement_sends SELECT UNNEST($1::VARCHAR[]), UNNEST($2::VARCHAR[]),"
        " UNNEST($3::VARCHAR[]), UNNEST($4::BIGINT[]), UNNEST($5::TIMESTAMPTZ[]), UNNEST($6::TIMESTAMPTZ[]),"
        " UNNEST($7::DATE[])",
        columns,
    )
