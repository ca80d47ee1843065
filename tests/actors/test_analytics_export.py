"""Turns from many workers reach DuckDB exactly once, through a SIGKILL, while reports are read."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import duckdb

from actors.analytics import save_session_to_duckdb
from tests.zapq.analytics.turns import turn
from zapq.analytics.duckdb_file import open_file
from zapq.analytics.summary import summarize

TURNS = 1200


def test_turns_from_two_workers_one_killed_mid_run_land_once_each_while_reports_are_read(
    broker, worker_process, tmp_path, wait_until
):
    path = tmp_path / "analytics.duckdb"
    env = {"DUCKDB_PATH": str(path), "DUCKDB_EXPORT_BATCH": "40", "CUSTOMER_ID_SECRET": "s"}
    # The first worker alone takes the first turns, so it is the exporter when it is killed.
    doomed = worker_process("actors", processes=1, threads=4, env=env)
    for number in range(TURNS):
        save_session_to_duckdb.send(turn(number))
    save_session_to_duckdb.send(turn(7))  # sent twice, as a redelivered burst does

    reports: list[int] = []
    refusals: list[BaseException] = []
    stop = threading.Event()

    def read_reports() -> None:  # the manager's dashboard, polling while the exporter writes
        day = dt.date(2026, 12, 1)
        while not stop.is_set():
            try:
                reports.append(summarize(path, day, day, wait_s=10.0)["days"][0]["bursts_answered"])
            except Exception as error:  # any failure to read is a finding
                refusals.append(error)

    reader = threading.Thread(target=read_reports)
    reader.start()
    try:
        wait_until(lambda: 0 < exported(path) < TURNS, timeout=30, interval=0.01, what="an export under way")
        doomed.kill()
        survivor = worker_process("actors", processes=1, threads=4, env=env)
        wait_until(lambda: exported(path) == TURNS, timeout=60, what="every turn in DuckDB")
    finally:
        stop.set()
        reader.join()

    with open_file(path, read_only=True, wait_s=10.0) as duck:
        rows, distinct = duck.execute("SELECT count(*), count(DISTINCT turn_id) FROM turns").fetchone()
    assert (rows, distinct) == (TURNS, TURNS)
    assert refusals == []
    assert any(0 < answered < TURNS for answered in reports), "a report was read while turns were written"
    assert reports == sorted(reports)  # each report saw a whole number of batches, never fewer than before
    failures = [line for line in survivor.output.splitlines() if " ERROR " in line or " WARNING " in line]
    assert "Traceback" not in survivor.output and not [line for line in failures if "lock" in line.lower()]


def exported(path: Path) -> int:
    if not path.exists():
        return 0
    with open_file(path, read_only=True, wait_s=10.0) as duck:
        try:
            row = duck.execute("SELECT count(*) FROM turns").fetchone()
        except duckdb.CatalogException:  # the exporter has not created its tables yet
            return 0
    return int(row[0]) if row else 0
