"""The background-task service's actors: one per priority queue, and the daily schedules' tick.

Each `run_task_<priority>` runs one attempt of one task (zapq/background/running.py). Its
message is keyed by FlowControl on (task, attempt): the redelivery of a message whose worker
died waits for that run's lease to end, then runs as the task's next attempt. Retries are the
task type's own (its RetryPolicy), queued by the run as delayed messages; the actor itself has
no Dramatiq retries but the outage ones (PostgreSQL down: the attempt waits for it).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import dramatiq

from schedules import BACKGROUND_SCHEDULES
from zapq.background.handlers import PRIORITIES, TaskPriority
from zapq.background.messages import ACTOR_NAMES, run_key
from zapq.queues import LOW_PRIORITY, PRIORITY, TASK_QUEUES
from zapq.settings import declaring_settings

_settings = declaring_settings()


def _run(task_id: str, attempt: int) -> None:
    # Worker-only code, imported here: the web imports this module only through `actors`.
    from zapq.background.catalog import load_task_types
    from zapq.background.messages import run_message
    from zapq.background.running import run_task
    from zapq.background.store import RunClaim
    from zapq.db.connection import thread_connection
    from zapq.log_context import about_task

    def schedule_retry(claim: RunClaim, next_attempt: int, delay_s: float) -> None:
        message = run_message(claim.task_id, claim.priority, next_attempt)
        dramatiq.get_broker().enqueue(message, delay=int(delay_s * 1000))

    load_task_types()
    with about_task(task_id):
        run_task(thread_connection(), task_id, schedule_retry)


def _declare(priority: TaskPriority) -> dramatiq.Actor[Any, Any]:
    queue = TASK_QUEUES[priority]
    declare: Any = dramatiq.actor  # its overloads type no decorator taking both fn and options
    actor: dramatiq.Actor[Any, Any] = declare(
        _run,
        actor_name=ACTOR_NAMES[priority],
        queue_name=queue,
        priority=PRIORITY[queue],
        max_retries=0,
        time_limit=int(_settings.background_task_time_limit_s * 1000),
        idempotency_key=run_key,
    )
    return actor


RUN_ACTORS = {priority: _declare(priority) for priority in PRIORITIES}
run_task_critical, run_task_high, run_task_normal, run_task_low = (RUN_ACTORS[p] for p in PRIORITIES)


@dramatiq.actor(queue_name=LOW_PRIORITY, priority=PRIORITY[LOW_PRIORITY], periodic=BACKGROUND_SCHEDULES)
def submit_scheduled_tasks() -> None:
    """Submit each organisation's daily tasks that are due (one per schedule per day)."""
    from zapq.background.api import submit_task
    from zapq.background.schedules import claim_due
    from zapq.db.connection import thread_connection

    connection = thread_connection()
    for schedule in claim_due(connection):
        yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
        # The day before the run, unless the schedule names its own range.
        payload = {"date_from": yesterday, "date_to": yesterday, **schedule.payload}
        submit_task(
            schedule.task_type,
            payload,
            organization_id=schedule.organization_id,
            user_id=schedule.user_id,
            name=schedule.name,
            priority=schedule.priority,
            connection=connection,
            idempotency_key=f"schedule:{schedule.id}:{yesterday}",
        )
