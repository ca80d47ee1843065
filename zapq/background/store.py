"""The tasks in PostgreSQL: every change of a task is one statement that also writes its event.

Status moves forward only. Each UPDATE names the statuses it may leave, and a run's updates
also name its attempt, so a late or superseded run (a worker that stalled while its message
was redelivered) changes nothing. Each change that a stream shows bumps the task's `event_seq`
and writes the event with that number in the same statement: a task's events are numbered
1, 2, 3, ... without gaps, in the order they happened.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec
import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from zapq.background.catalog import BULK_TASK_TYPE
from zapq.background.handlers import TaskPriority
from zapq.background.records import NewTask, Task, TaskEvent, TaskLogLine
from zapq.background.status import TERMINAL, EventKind, TaskStatus
from zapq.db.like import literal_for_like

MAX_LOG_MESSAGE = 4000
MAX_PROGRESS_MESSAGE = 500

_COLUMNS = """
    id::text AS id, organization_id, user_id, name, task_type, priority, payload, status, progress,
    progress_message, attempts, max_attempts, result, error, cancel_requested, parent_id::text AS parent_id,
    created_at, updated_at, started_at, finished_at, retry_at, event_seq AS last_event_id
"""
_TERMINAL_SQL = "('completed', 'failed', 'cancelled')"
_DURATION_S = "extract(epoch FROM finished_at - started_at)"
# A status event carries what a client needs to show the task without asking again.
_STATUS_BODY = """jsonb_build_object('status', t.status, 'progress', t.progress,
    'message', t.progress_message, 'attempts', t.attempts, 'error', t.error, 'result', t.result,
    'retry_at', t.retry_at)"""
_EVENT_OF_CHANGE = f"""
    e AS (
        INSERT INTO background_task_events (task_id, seq, kind, body)
        SELECT t.id, t.event_seq, %(kind)s, {_STATUS_BODY} FROM t
    )"""


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used before with another request; its first task's id is given."""

    def __init__(self, task_id: str) -> None:
        super().__init__(f"the Idempotency-Key was first used for another request (task {task_id})")
        self.task_id = task_id


class RunClaim(msgspec.Struct, frozen=True, kw_only=True):
    """A run a worker may start: the task's code, input, and which attempt this is."""

    task_id: str
    organization_id: str
    task_type: str
    priority: TaskPriority
    payload: dict[str, Any]
    attempt: int
    max_attempts: int
    parent_id: str | None


def _task(row: dict[str, Any]) -> Task:
    return msgspec.convert(row, Task)


def insert_task(connection: psycopg.Connection, task_id: str, new: NewTask) -> tuple[Task, bool]:
    """Store a new task (with its first event); `(task, True)`.

    With an idempotency key already used by the organisation: `(that task, False)` for the same
    request fingerprint, else IdempotencyConflict. Concurrent submissions with one key create
    one task: the unique index decides, and the losers read the winner's row.
    """
    params = {
        "id": task_id,
        "organization_id": new.organization_id,
        "user_id": new.user_id,
        "name": new.name,
        "task_type": new.task_type,
        "priority": new.priority,
        "payload": Jsonb(new.payload),
        "status": str(new.status),
        "idempotency_key": new.idempotency_key,
        "request_fingerprint": new.request_fingerprint,
        "parent_id": new.parent_id,
        "kind": str(EventKind.STATUS),
    }
    with connection.cursor(row_factory=dict_row) as cursor:
        row = cursor.execute(
            f"""
            WITH t AS (
                INSERT INTO background_tasks (id, organization_id, user_id, name, task_type, priority,
                    payload, status, started_at, idempotency_key, request_fingerprint, parent_id, event_seq)
                VALUES (%(id)s, %(organization_id)s, %(user_id)s, %(name)s, %(task_type)s, %(priority)s,
                    %(payload)s, %(status)s, CASE WHEN %(status)s = 'running' THEN now() END,
                    %(idempotency_key)s, %(request_fingerprint)s, %(parent_id)s, 1)
                ON CONFLICT (organization_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
                RETURNING *
            ), {_EVENT_OF_CHANGE}
            SELECT {_COLUMNS} FROM t
            """,
            params,
        ).fetchone()
        if row is not None:
            return _task(row), True
        existing = cursor.execute(
            f"SELECT {_COLUMNS}, request_fingerprint FROM background_tasks"
            " WHERE organization_id = %s AND idempotency_key = %s",
            (new.organization_id, new.idempotency_key),
        ).fetchone()
    if existing is None:  # the first was deleted (its enqueue failed) between our two statements
        raise IdempotencyConflict("(withdrawn)")
    if existing.pop("request_fingerprint") != new.request_fingerprint:
        raise IdempotencyConflict(existing["id"])
    return _task(existing), False


def delete_task(connection: psycopg.Connection, task_id: str) -> None:
    """Withdraw a task that could not be queued (the broker was down): the client is told to retry."""
    connection.execute("DELETE FROM background_tasks WHERE id = %s AND status = 'pending'", (task_id,))


def get_task(connection: psycopg.Connection, task_id: str, organization_id: str | None) -> Task | None:
    """The task, if it is the organisation's (any organisation's with None: the workers' view)."""
    with connection.cursor(row_factory=dict_row) as cursor:
        row = cursor.execute(
            f"SELECT {_COLUMNS} FROM background_tasks"
            " WHERE id = %s AND (%s::text IS NULL OR organization_id = %s)",
            (task_id, organization_id, organization_id),
        ).fetchone()
    return None if row is None else _task(row)


def claim_run(
    connection: psycopg.Connection, task_id: str, attempts_by_type: dict[str, int], default_attempts: int
) -> RunClaim | None:
    """Start the task's next attempt; None when it must not run (finished, cancelled, out of attempts).

    The first run sets the task's attempt budget from its type (`attempts_by_type`, this worker's
    registered types). A task found `running` is the redelivery of a run whose worker died: that
    run counts as an attempt, and a task whose attempts were all spent that way fails instead of
    running again. A task whose cancel was asked meanwhile ends `cancelled` here without running.
    """
    budget = "COALESCE(max_attempts, (%(budgets)s::jsonb ->> task_type)::int, %(default)s)"
    spent = f"attempts >= {budget}"
    with connection.cursor(row_factory=dict_row) as cursor:
        row = cursor.execute(
            f"""
            WITH t AS (
                UPDATE background_tasks SET
                    status = CASE WHEN cancel_requested THEN 'cancelled' WHEN {spent} THEN 'failed'
                                  ELSE 'running' END,
                    error = CASE WHEN NOT cancel_requested AND {spent}
                                 THEN 'the worker running attempt ' || attempts || ' stopped and no attempt'
                                      || ' is left' ELSE error END,
                    attempts = attempts + CASE WHEN cancel_requested OR {spent} THEN 0 ELSE 1 END,
                    max_attempts = {budget},
                    started_at = COALESCE(started_at, now()),
                    finished_at = CASE WHEN cancel_requested OR {spent} THEN now() END,
                    retry_at = NULL, updated_at = now(), event_seq = event_seq + 1
                WHERE id = %(id)s AND status IN ('pending', 'retrying', 'running')
                RETURNING *
            ), {_EVENT_OF_CHANGE}
            SELECT id::text AS task_id, organization_id, task_type, priority, payload, attempts AS attempt,
                max_attempts, parent_id::text AS parent_id, status FROM t
            """,
            {
                "id": task_id,
                "kind": str(EventKind.STATUS),
                "budgets": Jsonb(attempts_by_type),
                "default": default_attempts,
            },
        ).fetchone()
    if row is None:
        return None
    status = row.pop("status")
    if status != TaskStatus.RUNNING:
        if row["parent_id"]:
            refresh_parent(connection, row["parent_id"])
        return None
    return msgspec.convert(row, RunClaim)


def record_progress(
    connection: psycopg.Connection, task_id: str, attempt: int, fraction: float, message: str
) -> bool:
    """Write the run's progress; True while the run may go on (False: cancelled, or not its run any more)."""
    row = connection.execute(
        """
        WITH t AS (
            UPDATE background_tasks SET progress = %(progress)s, progress_message = %(message)s,
                updated_at = now(), event_seq = event_seq + 1
            WHERE id = %(id)s AND status = 'running' AND attempts = %(attempt)s
            RETURNING id, event_seq, progress, progress_message, cancel_requested
        ), e AS (
            INSERT INTO background_task_events (task_id, seq, kind, body)
            SELECT t.id, t.event_seq, 'progress',
                jsonb_build_object('progress', t.progress, 'message', t.progress_message) FROM t
        )
        SELECT cancel_requested FROM t
        """,
        {
            "id": task_id,
            "attempt": attempt,
            "progress": min(1.0, max(0.0, fraction)),
            "message": message[:MAX_PROGRESS_MESSAGE],
        },
    ).fetchone()
    return row is not None and not row[0]


def still_wanted(connection: psycopg.Connection, task_id: str, attempt: int) -> bool:
    """True while the run is the task's current one and no cancel was asked."""
    row = connection.execute(
        "SELECT 1 FROM background_tasks WHERE id = %s AND status = 'running' AND attempts = %s"
        " AND NOT cancel_requested",
        (task_id, attempt),
    ).fetchone()
    return row is not None


def append_log(connection: psycopg.Connection, task_id: str, attempt: int, level: str, message: str) -> None:
    connection.execute(
        """
        WITH t AS (
            UPDATE background_tasks SET event_seq = event_seq + 1 WHERE id = %(id)s RETURNING id, event_seq
        ), line AS (
            INSERT INTO background_task_logs (task_id, attempt, level, message)
            SELECT t.id, %(attempt)s, %(level)s, %(message)s FROM t
            RETURNING id, created_at
        )
        INSERT INTO background_task_events (task_id, seq, kind, body)
        SELECT t.id, t.event_seq, 'log', jsonb_build_object('id', line.id, 'attempt', %(attempt)s,
            'level', %(level)s, 'message', %(message)s, 'created_at', line.created_at)
        FROM t, line
        """,
        {"id": task_id, "attempt": attempt, "level": level, "message": message[:MAX_LOG_MESSAGE]},
    )


def _finish_run(
    connection: psycopg.Connection, task_id: str, attempt: int, assignments: str, params: dict[str, Any]
) -> bool:
    row = connection.execute(
        f"""
        WITH t AS (
            UPDATE background_tasks SET {assignments}, updated_at = now(), event_seq = event_seq + 1
            WHERE id = %(id)s AND status = 'running' AND attempts = %(attempt)s
            RETURNING *
        ), {_EVENT_OF_CHANGE}
        SELECT parent_id::text FROM t
        """,
        {**params, "id": task_id, "attempt": attempt, "kind": str(EventKind.STATUS)},
    ).fetchone()
    if row is not None and row[0]:
        refresh_parent(connection, row[0])
    return row is not None


def complete_run(connection: psycopg.Connection, task_id: str, attempt: int, result: dict[str, Any]) -> bool:
    """The run succeeded: `completed` with its result. False if the run was no longer the task's."""
    return _finish_run(
        connection,
        task_id,
        attempt,
        "status = 'completed', progress = 1, result = %(result)s, error = NULL, finished_at = now()",
        {"result": Jsonb(result)},
    )


def fail_run(connection: psycopg.Connection, task_id: str, attempt: int, error: str) -> bool:
    """The run failed for good (a permanent error, or no attempt left): `failed` with the error."""
    return _finish_run(
        connection,
        task_id,
        attempt,
        "status = 'failed', error = %(error)s, finished_at = now()",
        {"error": error[:MAX_LOG_MESSAGE]},
    )


def cancel_run(connection: psycopg.Connection, task_id: str, attempt: int) -> bool:
    """The run stopped at a cancellation check: `cancelled`."""
    return _finish_run(connection, task_id, attempt, "status = 'cancelled', finished_at = now()", {})


def retry_run(
    connection: psycopg.Connection, task_id: str, attempt: int, error: str, retry_at: datetime
) -> bool:
    """The run failed and another attempt is due at `retry_at`: `retrying`, with the error so far."""
    return _finish_run(
        connection,
        task_id,
        attempt,
        "status = 'retrying', error = %(error)s, retry_at = %(retry_at)s",
        {"error": error[:MAX_LOG_MESSAGE], "retry_at": retry_at},
    )


def request_cancel(connection: psycopg.Connection, task_id: str, organization_id: str) -> Task | None:
    """Ask the task to stop; the task as it is now, or None if the organisation has no such task.

    A pending or retrying task ends `cancelled` at once (its queued message will find it so and
    not run); a running one is flagged and ends `cancelled` at its next check. A finished task is
    left as it is: the caller tells `cancelled` (idempotent) from `completed`/`failed` (refused).
    A bulk parent cancels its children.
    """
    connection.execute(
        f"""
        WITH t AS (
            UPDATE background_tasks SET cancel_requested = true,
                status = CASE WHEN status IN ('pending', 'retrying') THEN 'cancelled' ELSE status END,
                finished_at = CASE WHEN status IN ('pending', 'retrying') THEN now() ELSE finished_at END,
                event_seq = event_seq + CASE WHEN status IN ('pending', 'retrying') THEN 1 ELSE 0 END,
                updated_at = now()
            WHERE organization_id = %(org)s AND status NOT IN {_TERMINAL_SQL}
                AND (id = %(id)s OR parent_id = %(id)s)
            RETURNING *, (status = 'cancelled') AS ended
        ), e AS (
            INSERT INTO background_task_events (task_id, seq, kind, body)
            SELECT t.id, t.event_seq, %(kind)s, {_STATUS_BODY} FROM t WHERE t.ended
        )
        SELECT count(*) FROM t
        """,
        {"id": task_id, "org": organization_id, "kind": str(EventKind.STATUS)},
    )
    task = get_task(connection, task_id, organization_id)
    if task is not None and task.parent_id is None:
        has_children = connection.execute(
            "SELECT 1 FROM background_tasks WHERE parent_id = %s LIMIT 1", (task_id,)
        ).fetchone()
        if has_children:
            refresh_parent(connection, task_id)
            task = get_task(connection, task_id, organization_id)
    elif task is not None and task.parent_id is not None:
        refresh_parent(connection, task.parent_id)
    return task


def refresh_parent(connection: psycopg.Connection, parent_id: str) -> None:
    """A bulk parent's progress is its children's mean; it ends when they all have.

    It fails if any child failed, is cancelled if all were, and completes otherwise. Run after
    each child's change, in its own statement: the last child's refresh sees every child's end.
    """
    connection.execute(
        f"""
        WITH agg AS (
            SELECT count(*) AS total, coalesce(avg(progress), 0) AS mean,
                count(*) FILTER (WHERE status IN {_TERMINAL_SQL}) AS ended,
                count(*) FILTER (WHERE status = 'completed') AS completed,
                count(*) FILTER (WHERE status = 'failed') AS failed,
                count(*) FILTER (WHERE status = 'cancelled') AS cancelled
            FROM background_tasks WHERE parent_id = %(id)s
        ), t AS (
            UPDATE background_tasks p SET
                progress = CASE WHEN agg.ended = agg.total THEN 1 ELSE agg.mean END,
                progress_message = agg.ended || ' of ' || agg.total || ' done',
                status = CASE WHEN agg.ended < agg.total THEN 'running'
                              WHEN agg.failed > 0 THEN 'failed'
                              WHEN agg.cancelled = agg.total THEN 'cancelled' ELSE 'completed' END,
                error = CASE WHEN agg.ended = agg.total AND agg.failed > 0
                             THEN agg.failed || ' of ' || agg.total || ' failed' END,
                result = CASE WHEN agg.ended = agg.total THEN jsonb_build_object('total', agg.total,
                    'completed', agg.completed, 'failed', agg.failed, 'cancelled', agg.cancelled) END,
                finished_at = CASE WHEN agg.ended = agg.total THEN now() END,
                updated_at = now(), event_seq = p.event_seq + 1
            FROM agg
            WHERE p.id = %(id)s AND p.status NOT IN {_TERMINAL_SQL} AND agg.total > 0
            RETURNING p.*
        )
        INSERT INTO background_task_events (task_id, seq, kind, body)
        SELECT t.id, t.event_seq, CASE WHEN t.status IN {_TERMINAL_SQL} THEN 'status' ELSE 'progress' END,
            {_STATUS_BODY} FROM t
        """,
        {"id": parent_id},
    )


def list_logs(
    connection: psycopg.Connection, task_id: str, *, after_id: int, limit: int
) -> list[TaskLogLine]:
    with connection.cursor(row_factory=dict_row) as cursor:
        rows = cursor.execute(
            "SELECT id, attempt, level, message, created_at FROM background_task_logs"
            " WHERE task_id = %s AND id > %s ORDER BY id LIMIT %s",
            (task_id, after_id, limit),
        ).fetchall()
    return [msgspec.convert(row, TaskLogLine) for row in rows]


def list_tasks(
    connection: psycopg.Connection,
    organization_id: str | None,
    *,
    status: str | None,
    task_type: str | None,
    created_after: datetime | None,
    created_before: datetime | None,
    after: tuple[datetime, str] | None,
    limit: int,
    text: str | None = None,
) -> list[Task]:
    """The organisation's tasks (every organisation's with None: the operator console), newest first.

    `after` is the (created_at, id) of the last one seen; `text` matches the start of the id, or
    anywhere in the type or name, case-insensitively.
    """
    contains = None if text is None else "%" + literal_for_like(text) + "%"
    prefix = None if text is None else literal_for_like(text.lower()) + "%"
    with connection.cursor(row_factory=dict_row) as cursor:
        rows = cursor.execute(
            f"""
            SELECT {_COLUMNS} FROM background_tasks
            WHERE (%(org)s::text IS NULL OR organization_id = %(org)s)
                AND (%(status)s::text IS NULL OR status = %(status)s)
                AND (%(type)s::text IS NULL OR task_type = %(type)s)
                AND (%(contains)s::text IS NULL OR id::text LIKE %(prefix)s
                    OR task_type ILIKE %(contains)s OR name ILIKE %(contains)s)
                AND (%(since)s::timestamptz IS NULL OR created_at >= %(since)s)
                AND (%(until)s::timestamptz IS NULL OR created_at < %(until)s)
                AND (%(after_at)s::timestamptz IS NULL
                    OR (created_at, id) < (%(after_at)s, %(after_id)s::uuid))
            ORDER BY created_at DESC, id DESC
            LIMIT %(limit)s
            """,
            {
                "org": organization_id,
                "status": status,
                "type": task_type,
                "since": created_after,
                "until": created_before,
                "after_at": after[0] if after else None,
                "after_id": after[1] if after else None,
                "limit": limit,
                "contains": contains,
                "prefix": prefix,
            },
        ).fetchall()
    return [_task(row) for row in rows]


def events_after(connection: psycopg.Connection, cursors: Sequence[tuple[str, int]]) -> list[TaskEvent]:
    """Every event of each task after its cursor, in order: one query for all the streams of a process."""
    if not cursors:
        return []
    with connection.cursor(row_factory=dict_row) as cursor:
        rows = cursor.execute(
            """
            SELECT e.task_id::text AS task_id, e.seq, e.kind, e.body
            FROM unnest(%s::uuid[], %s::bigint[]) AS c(task_id, after)
            JOIN background_task_events e ON e.task_id = c.task_id AND e.seq > c.after
            ORDER BY e.task_id, e.seq
            """,
            ([task_id for task_id, _ in cursors], [after for _, after in cursors]),
        ).fetchall()
    return [msgspec.convert(row, TaskEvent) for row in rows]


class TypeDurations(msgspec.Struct, kw_only=True):
    task_type: str
    completed: int
    p50_s: float | None
    p95_s: float | None


class QueueStats(msgspec.Struct, kw_only=True):
    #: Tasks waiting to run (pending, or retrying with their next attempt due later), per priority.
    waiting: dict[str, int]
    running: int
    retrying: int
    failed_last_hour: int
    completed_last_hour: int
    completed_last_minute: int
    #: Completed tasks per second over the last hour.
    throughput_per_s: float
    #: From first start to completion, over the last hour, per task type.
    durations: list[TypeDurations]


def queue_stats(connection: psycopg.Connection) -> QueueStats:
    waiting = dict.fromkeys(("critical", "high", "normal", "low"), 0)
    for priority, count in connection.execute(
        "SELECT priority, count(*) FROM background_tasks WHERE status = 'pending' GROUP BY priority"
    ):
        waiting[priority] = count
    running, retrying, failed, completed_hour, completed_minute = connection.execute(
        """
        SELECT count(*) FILTER (WHERE status = 'running' AND task_type <> %s),
            count(*) FILTER (WHERE status = 'retrying'),
            count(*) FILTER (WHERE status = 'failed' AND finished_at > now() - interval '1 hour'),
            count(*) FILTER (WHERE status = 'completed' AND finished_at > now() - interval '1 hour'),
            count(*) FILTER (WHERE status = 'completed' AND finished_at > now() - interval '1 minute')
        FROM background_tasks
        WHERE status IN ('running', 'retrying') OR finished_at > now() - interval '1 hour'
        """,
        (BULK_TASK_TYPE,),
    ).fetchone() or (0, 0, 0, 0, 0)
    with connection.cursor(row_factory=dict_row) as cursor:
        durations = cursor.execute(
            f"""
            SELECT task_type, count(*) AS completed,
                percentile_cont(0.5) WITHIN GROUP (ORDER BY {_DURATION_S}) AS p50_s,
                percentile_cont(0.95) WITHIN GROUP (ORDER BY {_DURATION_S}) AS p95_s
            FROM background_tasks
            WHERE status = 'completed' AND finished_at > now() - interval '1 hour' AND started_at IS NOT NULL
            GROUP BY task_type ORDER BY task_type
            """
        ).fetchall()
    return QueueStats(
        waiting=waiting,
        running=running,
        retrying=retrying,
        failed_last_hour=failed,
        completed_last_hour=completed_hour,
        completed_last_minute=completed_minute,
        throughput_per_s=round(completed_hour / 3600, 4),
        durations=[msgspec.convert(row, TypeDurations) for row in durations],
    )


def cleanup(connection: psycopg.Connection, max_age_days: float) -> int:
    """Delete finished tasks (with their logs and events) older than `max_age_days`; how many."""
    row = connection.execute(
        f"""
        WITH gone AS (
            DELETE FROM background_tasks
            WHERE status IN {_TERMINAL_SQL} AND finished_at < now() - make_interval(secs => %s)
                AND parent_id IS NULL
            RETURNING 1
        )
        SELECT count(*) FROM gone
        """,
        (max_age_days * 86400,),
    ).fetchone()
    return int(row[0]) if row else 0


def terminal(status: str) -> bool:
    return status in TERMINAL


def insert_bulk(
    connection: psycopg.Connection, parent_id: str, parent: NewTask, children: Sequence[tuple[str, NewTask]]
) -> tuple[Task, bool, list[str]]:
    """A parent and its children in one transaction; a replayed submission gets the first parent's."""
    with connection.transaction():
        task, created = insert_task(connection, parent_id, parent)
        if created:
            for child_id, child in children:
                insert_task(connection, child_id, child)
    rows = connection.execute(
        "SELECT id::text FROM background_tasks WHERE parent_id = %s ORDER BY created_at, id", (task.id,)
    ).fetchall()
    return task, created, [row[0] for row in rows]


def withdraw_bulk(connection: psycopg.Connection, parent_id: str) -> None:
    """Withdraw a bulk submission whose children could not be queued (its children go with it)."""
    connection.execute("DELETE FROM background_tasks WHERE id = %s", (parent_id,))
