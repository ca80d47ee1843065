"""The DuckDB file: its tables, and opening it around the one-writer-at-a-time rule.

DuckDB lets one process hold a file read-write, and no other process open it at all meanwhile
(not even read-only). So nobody keeps it open: the exporter opens it for one batch, readers for
one query, and whoever finds it held waits a little and tries again (`DUCKDB_LOCK_WAIT_S`).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

FIRST_RETRY_S = 0.005
#: Below the exporter's pause between batches (`exporter.BATCH_GAP_S`), so a waiting reader gets in.
MAX_RETRY_S = 0.01

#: Each table, as the exporter creates it. `day` is the dealership's date (America/Sao_Paulo).
TABLES = (
    """CREATE TABLE IF NOT EXISTS turns (
        export_seq BIGINT NOT NULL,
        turn_id VARCHAR NOT NULL,
        phone_number_id VARCHAR NOT NULL,
        customer_key VARCHAR NOT NULL,
        inbound_count INTEGER NOT NULL,
        inbound_kinds VARCHAR[] NOT NULL,
        reply_chars INTEGER NOT NULL,
        reply_status VARCHAR NOT NULL,
        engine VARCHAR NOT NULL,
        intent VARCHAR NOT NULL,
        actions VARCHAR[] NOT NULL,
        handoff BOOLEAN NOT NULL,
        opted_out BOOLEAN NOT NULL,
        test_drive_booked BOOLEAN NOT NULL,
        vehicle_ids BIGINT[] NOT NULL,
        vehicle_makes VARCHAR[] NOT NULL,
        vehicle_models VARCHAR[] NOT NULL,
        latency_ms INTEGER NOT NULL,
        first_inbound_at TIMESTAMPTZ NOT NULL,
        replied_at TIMESTAMPTZ NOT NULL,
        day DATE NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS export_state (
        stream VARCHAR PRIMARY KEY,
        high_water BIGINT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS metrics_snapshots (
        scheduled_at TIMESTAMPTZ PRIMARY KEY,
        taken_at TIMESTAMPTZ NOT NULL,
        queue_depths MAP(VARCHAR, BIGINT) NOT NULL,
        delayed_depths MAP(VARCHAR, BIGINT) NOT NULL,
        dead_letter_depths MAP(VARCHAR, BIGINT) NOT NULL,
        in_flight INTEGER NOT NULL,
        active_conversations_1h INTEGER NOT NULL,
        bursts_answered_1m INTEGER NOT NULL,
        reply_latency_median_5m_ms DOUBLE,
        reengagement_sent_1m INTEGER NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS reengagement_sends (
        phone_number_id VARCHAR NOT NULL,
        customer_key VARCHAR NOT NULL,
        campaign_type VARCHAR NOT NULL,
        vehicle_id BIGINT,
        sent_at TIMESTAMPTZ NOT NULL,
        replied_at TIMESTAMPTZ,
        day DATE NOT NULL
    )""",
)


class FileBusy(Exception):
    """Another process held the DuckDB file for longer than we were willing to wait."""


def is_lock_conflict(error: BaseException) -> bool:
    """The file is held: by another process ("Could not set lock on file ... Conflicting lock is
    held"), or by this one, open the other way (read-only against read-write)."""
    import duckdb

    if isinstance(error, duckdb.IOException):
        return "lock" in str(error).lower()
    return isinstance(error, duckdb.ConnectionException) and "different configuration" in str(error)


@contextlib.contextmanager
def open_file(path: Path, *, read_only: bool, wait_s: float) -> Iterator[DuckDBPyConnection]:
    """The file, opened once it is free (within `wait_s`), closed on leaving; else `FileBusy`."""
    import duckdb

    deadline = time.monotonic() + wait_s
    pause = FIRST_RETRY_S
    while True:
        try:
            connection = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.Error as error:
            if not is_lock_conflict(error):
                raise
            if time.monotonic() + pause > deadline:
                raise FileBusy(f"{path} stayed busy for {wait_s} s: {error}") from None
            time.sleep(pause)
            pause = min(pause * 2, MAX_RETRY_S)
    try:
        yield connection
    finally:
        connection.close()


def create_tables(connection: DuckDBPyConnection) -> None:
    for statement in TABLES:
        connection.execute(statement)
