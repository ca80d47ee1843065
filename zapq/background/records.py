"""What the service stores about a task, as the API and the Python callers see it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from zapq.background.handlers import TaskPriority
from zapq.background.status import EventKind, TaskStatus


class Task(msgspec.Struct, kw_only=True):
    id: str
    organization_id: str
    user_id: str
    name: str
    task_type: str
    priority: TaskPriority
    payload: dict[str, Any]
    status: TaskStatus
    progress: float
    progress_message: str
    attempts: int
    #: Set by the first run, from the task type's retry policy.
    max_attempts: int | None
    result: dict[str, Any] | None
    error: str | None
    cancel_requested: bool
    parent_id: str | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    retry_at: datetime | None
    #: The number of the task's last event: a stream resumes after it (`Last-Event-ID`).
    last_event_id: int


class TaskLogLine(msgspec.Struct, kw_only=True):
    id: int
    attempt: int
    level: str
    message: str
    created_at: datetime


class TaskEvent(msgspec.Struct, kw_only=True):
    task_id: str
    seq: int
    kind: EventKind
    body: dict[str, Any]


class NewTask(msgspec.Struct, kw_only=True):
    organization_id: str
    user_id: str
    name: str
    task_type: str
    priority: TaskPriority
    payload: dict[str, Any]
    idempotency_key: str | None = None
    #: A hash of what was asked (endpoint and body): a reused key with another body is refused.
    request_fingerprint: str | None = None
    parent_id: str | None = None
    #: A parent of a bulk submission starts `running`: it runs no code, its children do.
    status: TaskStatus = TaskStatus.PENDING
