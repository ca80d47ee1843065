"""One run of a task, from its queued message to its stored outcome.

The actor (actors/background.py) calls `run_task` with the task id its message carries. The
run claims the task's next attempt (a finished or cancelled task is skipped), calls the task
type's handler with a PostgreSQL-backed context, and stores what happened: the result, a
cancellation, a failure, or a retry. A retry is a new message, delayed by the type's policy,
queued before the task is marked `retrying`, so a crash in between leaves a task that runs
again rather than one that waits forever.

An outage of PostgreSQL itself (or a worker that cannot run for want of configuration) is not
the task's fault: the error goes up to the middleware, which retries the message when the
dependency is back, and the redelivered run counts as the next attempt.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import psycopg
from dramatiq.middleware import TimeLimitExceeded

from zapq.background import store
from zapq.background.context import PostgresTaskContext
from zapq.background.handlers import TASK_TYPES, PermanentTaskError, RetryAfter, RetryPolicy, TaskCancelled
from zapq.background.retry import max_attempts, retry_delay_s
from zapq.background.store import RunClaim
from zapq.outages import CONFIGURATION, POSTGRESQL, dependency_down

logger = logging.getLogger(__name__)

#: Queue the run of `attempt` of the claimed task after `delay_s`.
ScheduleRetry = Callable[[RunClaim, int, float], None]


class RunOutcome(StrEnum):
    SKIPPED = "skipped"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    RETRYING = "retrying"
    FAILED = "failed"
    SUPERSEDED = "superseded"


def run_task(connection: psycopg.Connection, task_id: str, schedule_retry: ScheduleRetry) -> RunOutcome:
    budgets = {name: max_attempts(task_type.retry) for name, task_type in TASK_TYPES.items()}
    claim = store.claim_run(connection, task_id, budgets, max_attempts(RetryPolicy()))
    if claim is None:
        return RunOutcome.SKIPPED
    task_type = TASK_TYPES.get(claim.task_type)
    if task_type is None:
        store.append_log(
            connection, task_id, claim.attempt, "error", f"no code for task type {claim.task_type}"
        )
        return _stored(
            store.fail_run(connection, task_id, claim.attempt, f"unknown task type {claim.task_type!r}"),
            RunOutcome.FAILED,
        )
    context = PostgresTaskContext(connection, claim)
    started = time.monotonic()
    try:
        result = task_type.handler(context, claim.payload)
        if not isinstance(result, dict):
            raise PermanentTaskError(f"the handler returned {type(result).__name__}, not a JSON object")
        return _stored(store.complete_run(connection, task_id, claim.attempt, result), RunOutcome.COMPLETED)
    except TaskCancelled:
        return _stored(store.cancel_run(connection, task_id, claim.attempt), RunOutcome.CANCELLED)
    except PermanentTaskError as error:
        return _failed(connection, claim, f"{error}" or type(error).__name__)
    except TimeLimitExceeded:
        return _retry_or_fail(connection, claim, "the time limit was exceeded", schedule_retry)
    except Exception as error:
        if dependency_down(error) in (POSTGRESQL, CONFIGURATION):
            raise
        described = f"{type(error).__name__}: {error}"
        logger.info(
            "task %s attempt %d failed after %.1f s: %s",
            task_id,
            claim.attempt,
            time.monotonic() - started,
            described,
        )
        # A destination's Retry-After is a floor under the policy's own wait, never a shortcut.
        at_least_s = error.seconds if isinstance(error, RetryAfter) else 0.0
        return _retry_or_fail(connection, claim, described, schedule_retry, at_least_s=at_least_s)


def _retry_or_fail(
    connection: psycopg.Connection,
    claim: RunClaim,
    error: str,
    schedule_retry: ScheduleRetry,
    *,
    at_least_s: float = 0.0,
) -> RunOutcome:
    if claim.attempt >= claim.max_attempts:
        return _failed(connection, claim, error)
    policy = TASK_TYPES[claim.task_type].retry
    delay_s = max(retry_delay_s(policy, claim.attempt), at_least_s)
    store.append_log(
        connection,
        claim.task_id,
        claim.attempt,
        "warning",
        f"attempt {claim.attempt} failed: {error}; attempt {claim.attempt + 1} in {delay_s:.1f} s",
    )
    schedule_retry(claim, claim.attempt + 1, delay_s)
    retry_at = datetime.now(UTC) + timedelta(seconds=delay_s)
    return _stored(
        store.retry_run(connection, claim.task_id, claim.attempt, error, retry_at), RunOutcome.RETRYING
    )


def _failed(connection: psycopg.Connection, claim: RunClaim, error: str) -> RunOutcome:
    store.append_log(
        connection, claim.task_id, claim.attempt, "error", f"attempt {claim.attempt} failed: {error}"
    )
    return _stored(store.fail_run(connection, claim.task_id, claim.attempt, error), RunOutcome.FAILED)


def _stored(written: bool, outcome: RunOutcome) -> RunOutcome:
    # Not written: a newer attempt (the redelivery of a message this worker was too slow with) owns the task.
    return outcome if written else RunOutcome.SUPERSEDED
