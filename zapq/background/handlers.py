"""What a task type's code sees while it runs, and how a task type registers its code.

A handler is a plain function `handler(context, payload) -> result`: `payload` is the task's
payload as submitted (a JSON object), the returned dict is stored as the task's result. The
handler reports through `context` only:

- `context.progress(0.5, "halfway")`: progress from 0 to 1 with a message (the seed's
  `update_progress(task_id, 0.5, "halfway")`); it is also a cancellation check;
- `context.log("attempt 1: 503 in 120 ms")`: one line of the task's log;
- `context.check_cancelled()`: raises `TaskCancelled` once the task was cancelled, so a long loop
  stops at its next check.

A handler raises `PermanentTaskError` for input that will never work (no retry: the task fails
with that message), `RetryAfter(seconds)` for a failure worth retrying no sooner than that, and
any other exception for a failure worth retrying (the task type's retry policy decides). It
must be safe to run again after a crash: a task is redelivered when its worker dies.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

TaskPriority = Literal["critical", "high", "normal", "low"]
PRIORITIES: tuple[TaskPriority, ...] = ("critical", "high", "normal", "low")


class TaskCancelled(Exception):
    """The task was cancelled while it ran; raised by `TaskContext.progress` and `check_cancelled`."""


class PermanentTaskError(Exception):
    """The task cannot succeed however often it is retried (bad input, a refused destination)."""


class RetryAfter(Exception):
    """Worth retrying, but not before `seconds` have passed (a destination's `Retry-After`).

    The service waits at least `seconds` (and at least the retry policy's own wait) before the next
    attempt; the attempt counts against the type's `max_retries` like any other failure.
    """

    def __init__(self, seconds: float, message: str = "") -> None:
        super().__init__(message or f"retry after {seconds:g} s")
        self.seconds = seconds


class TaskContext(Protocol):
    """The running task's side of the service: identity, progress, logs, cancellation."""

    @property
    def task_id(self) -> str: ...

    @property
    def organization_id(self) -> str: ...

    @property
    def attempt(self) -> int:
        """1 on the first run, 2 on the first retry, ..."""
        ...

    def progress(self, fraction: float, message: str = "") -> None: ...

    def log(self, message: str, level: Literal["debug", "info", "warning", "error"] = "info") -> None: ...

    def check_cancelled(self) -> None: ...


Handler = Callable[[TaskContext, Mapping[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class RetryPolicy:
    """A task type's retries: `max_retries` after the first run, waits base * factor**n, capped, jittered."""

    max_retries: int = 3
    factor: float = 2.0
    base_s: float = 60.0
    max_s: float = 3600.0


@dataclass(frozen=True)
class TaskType:
    name: str
    handler: Handler
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    default_priority: TaskPriority = "normal"


#: Every task type the service can run, by name; filled by `register` at import of each type's module.
TASK_TYPES: dict[str, TaskType] = {}


def register(
    name: str, *, retry: RetryPolicy | None = None, default_priority: TaskPriority = "normal"
) -> Callable[[Handler], Handler]:
    """Decorator: make `handler` the code of task type `name`."""

    def decorate(handler: Handler) -> Handler:
        if name in TASK_TYPES and TASK_TYPES[name].handler is not handler:
            raise ValueError(f"task type {name!r} is registered twice")
        TASK_TYPES[name] = TaskType(name, handler, retry or RetryPolicy(), default_priority)
        return handler

    return decorate
