"""What a submission is, whoever makes it (the HTTP API or another module): checks, a row, a message."""

from __future__ import annotations

import hashlib
from typing import Any
from uuid import uuid4

import msgspec

from zapq.background.catalog import known_task_type, known_task_types
from zapq.background.handlers import PRIORITIES, TaskPriority
from zapq.background.records import NewTask, Task

MAX_NAME = 200


class InvalidSubmission(ValueError):
    """A submission that can never be accepted; `field` names what is wrong."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field}: {detail}")
        self.field = field
        self.detail = detail


def new_task(
    task_type: str,
    payload: dict[str, Any],
    *,
    organization_id: str,
    user_id: str,
    name: str | None = None,
    priority: TaskPriority = "normal",
    idempotency_key: str | None = None,
    request_fingerprint: str | None = None,
    parent_id: str | None = None,
) -> NewTask:
    if not known_task_type(task_type):
        raise InvalidSubmission(
            "task_type", f"unknown task type {task_type[:64]!r}; known: {', '.join(known_task_types())}"
        )
    if priority not in PRIORITIES:
        raise InvalidSubmission("priority", f"must be one of {', '.join(PRIORITIES)}")
    if not organization_id or not user_id:
        raise InvalidSubmission("organization_id", "a task belongs to an organisation and a user")
    return NewTask(
        organization_id=organization_id,
        user_id=user_id,
        name=(name or task_type)[:MAX_NAME],
        task_type=task_type,
        priority=priority,
        payload=payload,
        idempotency_key=idempotency_key,
        request_fingerprint=request_fingerprint,
        parent_id=parent_id,
    )


def new_task_id() -> str:
    return str(uuid4())


def request_fingerprint(endpoint: str, body: object) -> str:
    """The same request always hashes the same, whatever the order of its JSON keys."""
    canonical = msgspec.json.encode(body, order="sorted")
    return hashlib.sha256(endpoint.encode() + b"\n" + canonical).hexdigest()


def resubmission(task: Task) -> NewTask:
    """A new task doing what `task` (one that ended) did: same type, input, owner, name and priority.

    A retry from the console is a new task, not the old one reset: a task's status only moves
    forward, and its history (attempts, logs, events) stays as it was.
    """
    return NewTask(
        organization_id=task.organization_id,
        user_id=task.user_id,
        name=task.name,
        task_type=task.task_type,
        priority=task.priority,
        payload=task.payload,
    )
