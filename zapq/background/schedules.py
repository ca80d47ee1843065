"""Daily tasks per organisation: a row per schedule, a task per schedule per day.

`submit_due` runs every minute (the scheduler's `submit_scheduled_tasks`). A schedule is due
once its time of day (UTC) has passed and no task was submitted for it today; claiming it sets
`last_run_on` to today in the statement that finds it, so two schedulers, or a tick run twice,
submit one task per schedule per day.
"""

from __future__ import annotations

from datetime import date, time
from typing import Any

import msgspec
import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from zapq.background.handlers import TaskPriority


class Schedule(msgspec.Struct, kw_only=True):
    id: int
    organization_id: str
    user_id: str
    name: str
    task_type: str
    priority: TaskPriority
    payload: dict[str, Any]
    run_at: time
    last_run_on: date | None


_COLUMNS = "id, organization_id, user_id, name, task_type, priority, payload, run_at, last_run_on"


def upsert_schedule(
    connection: psycopg.Connection,
    *,
    organization_id: str,
    user_id: str,
    name: str,
    task_type: str,
    priority: TaskPriority,
    payload: dict[str, Any],
    run_at: time,
) -> Schedule:
    """One schedule per organisation and name: submitting it again changes it."""
    with connection.cursor(row_factory=dict_row) as cursor:
        row = cursor.execute(
            f"""
            INSERT INTO background_task_schedules
                (organization_id, user_id, name, task_type, priority, payload, run_at)
            VALUES (%s, %s, %s, %s, %s, %s, %s)
            ON CONFLICT (organization_id, name) DO UPDATE SET user_id = excluded.user_id,
                task_type = excluded.task_type, priority = excluded.priority, payload = excluded.payload,
                run_at = excluded.run_at
            RETURNING {_COLUMNS}
            """,
            (organization_id, user_id, name, task_type, priority, Jsonb(payload), run_at),
        ).fetchone()
    assert row is not None
    return msgspec.convert(row, Schedule)


def claim_due(connection: psycopg.Connection) -> list[Schedule]:
    """The schedules due now, marked as run today in the same statement."""
    with connection.cursor(row_factory=dict_row) as cursor:
        rows = cursor.execute(
            f"""
            UPDATE background_task_schedules SET last_run_on = (now() AT TIME ZONE 'UTC')::date
            WHERE (last_run_on IS NULL OR last_run_on < (now() AT TIME ZONE 'UTC')::date)
                AND run_at <= (now() AT TIME ZONE 'UTC')::time
            RETURNING {_COLUMNS}
            """
        ).fetchall()
    return [msgspec.convert(row, Schedule) for row in rows]
