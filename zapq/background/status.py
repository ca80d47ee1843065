"""A task's status: declared once, with the moves it may make (forward only)."""

from __future__ import annotations

from enum import StrEnum


class TaskStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    RETRYING = "retrying"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset({TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED})

#: Statuses a run may start from: `running` too, for the redelivery of a run whose worker died.
STARTABLE = (TaskStatus.PENDING, TaskStatus.RETRYING, TaskStatus.RUNNING)
#: Statuses a cancel ends at once (no code of the task is running).
CANCELLABLE_AT_ONCE = (TaskStatus.PENDING, TaskStatus.RETRYING)


class EventKind(StrEnum):
    """What a task's stream carries: a status change, a progress report or a log line."""

    STATUS = "status"
    PROGRESS = "progress"
    LOG = "log"
