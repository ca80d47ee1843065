"""The Dramatiq message that runs a task's attempt, built without importing the actors.

One actor per priority (actors/background.py), each on its own queue (zapq/queues.py). The
message carries the task id and the attempt it is for; FlowControl keys it on both, so a
redelivered message never runs beside the run it replaces (it waits for that run's lease).
"""

from __future__ import annotations

from typing import Any

from dramatiq.message import Message

from zapq.background.handlers import TaskPriority
from zapq.queues import TASK_QUEUES

ACTOR_NAMES: dict[TaskPriority, str] = {
    "critical": "run_task_critical",
    "high": "run_task_high",
    "normal": "run_task_normal",
    "low": "run_task_low",
}


def run_message(task_id: str, priority: TaskPriority, attempt: int = 1) -> Message[Any]:
    return Message(
        queue_name=TASK_QUEUES[priority],
        actor_name=ACTOR_NAMES[priority],
        args=(task_id, attempt),
        kwargs={},
        options={},
    )


def run_key(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """FlowControl's idempotency key of a run message: the task and the attempt."""
    return f"{args[0]}.{args[1]}"
