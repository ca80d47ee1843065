"""The exporter: staged turns reach the DuckDB file exactly once, whoever else wants the file."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import duckdb
import psycopg

from tests.zapq.analytics.turns import turn
from zapq.analytics.exporter import ExportOutcome, ExportTarget, export_pending
from zapq.analytics.staging import stage_turn
from zapq.customer_ids import customer_key

SECRET = b"test-customer-secret"


def target(path: Path, **changes: object) -> ExportTarget:
    return ExportTarget(path=path, secret=SECRET, **{"batch_size": 5, "lock_wait_s": 2.0, **changes})  # type: ignore[arg-type]


def stage(db: psycopg.Connection, numbers: range) -> None:
    for number in numbers:
        stage_turn(db, turn(number))


def exported_ids(path: Path) -> list[str]:
    with duckdb.connect(str(path), read_only=True) as duck:
        return [row[0] for row in duck.execute("SELECT turn_id FROM turns ORDER BY export_seq").fetchall()]


def test_every_staged_turn_lands_once_in_batches_however_often_the_export_runs(db, tmp_path):
    path = tmp_path / "analytics.duckdb"
    stage(db, range(12))
    stage_turn(db, turn(3))  # a redelivered save adds nothing

    first = export_pending(db, target(path))
    stage(db, range(12, 14))
    second = export_pending(db, target(path))
    third = export_pending(db, target(path))

    assert (first.outcome, first.turns, first.batches) == (ExportOutcome.DONE, 12, 3)
    assert (second.turns, third.turns) == (2, 0)
    assert sorted(exported_ids(path)) == sorted(f"batch-{n}" for n in range(14))


def test_the_file_keeps_customer_keys_and_never_a_phone_number(db, tmp_path):
    path = tmp_path / "analytics.duckdb"
    stage_turn(db, turn(1, wa_id="5511987654321"))

    export_pending(db, target(path))

    with duckdb.connect(str(path), read_only=True) as duck:
        keys = duck.execute("SELECT customer_key FROM turns").fetchall()
        dump = str(duck.execute("SELECT * FROM turns").fetchall())
    assert keys == [(customer_key("5511987654321", SECRET),)]
    assert "987654321" not in dump


def test_a_file_held_by_another_process_is_waited_for_then_left_quietly_for_the_next_trigger(db, tmp_path):
    path = tmp_path / "analytics.duckdb"
    stage(db, range(3))
    hold = (
        f"import duckdb, sys; c = duckdb.connect({str(path)!r}); print('held', flush=True); sys.stdin.read()"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", hold], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        busy = export_pending(db, target(path, lock_wait_s=0.3))
        waited = time.monotonic() - started
    finally:
        holder.communicate("")
    done = export_pending(db, target(path))

    assert busy.outcome is ExportOutcome.FILE_BUSY and busy.turns == 0
    assert 0.2 < waited < 2.0
    assert done.outcome is ExportOutcome.DONE and len(exported_ids(path)) == 3


def test_a_second_exporter_leaves_the_work_to_the_one_holding_the_lock(db, settings, tmp_path):
    path = tmp_path / "analytics.duckdb"
    stage(db, range(2))
    lock = "hashtextextended('zapq:analytics:duckdb-exporter', 0)"
    with psycopg.connect(settings.database_url, autocommit=True) as other:
        other.execute(f"SELECT pg_advisory_lock({lock})")
        locked = export_pending(db, target(path))
        other.execute(f"SELECT pg_advisory_unlock({lock})")

    assert locked.outcome is ExportOutcome.LOCKED and not path.exists()
    assert export_pending(db, target(path)).turns == 2


def test_a_file_ahead_of_a_restored_staging_area_still_gets_the_new_turns(db, tmp_path):
    path = tmp_path / "analytics.duckdb"
    stage(db, range(2))
    export_pending(db, target(path))
    with duckdb.connect(str(path)) as duck:  # as if PostgreSQL came back from an older backup
        duck.execute("UPDATE export_state SET high_water = high_water + 1000")
    stage(db, range(2, 4))

    export_pending(db, target(path))

    assert sorted(exported_ids(path)) == [f"batch-{n}" for n in range(4)]


def test_an_exporter_on_another_node_stays_out_of_the_file_that_node_does_not_hold(db, tmp_path):
    stage(db, range(2))
    db.execute(
        "INSERT INTO analytics_exporter (host, path) VALUES ('analytics-node', '/var/lib/zapq/a.duckdb')"
    )

    elsewhere = export_pending(db, target(tmp_path / "analytics.duckdb"))
    db.execute("DELETE FROM analytics_exporter")  # the operator moves the file here
    moved = export_pending(db, target(tmp_path / "analytics.duckdb"))

    assert (elsewhere.outcome, elsewhere.turns) == (ExportOutcome.ELSEWHERE, 0)
    assert (moved.outcome, moved.turns) == (ExportOutcome.DONE, 2)
