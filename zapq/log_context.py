"""What a log line is about besides its text: the message, the background task, the correlation.

`LogContext` is a handler filter that copies them onto each record as it is written, from
`middleware.correlation` (the message a worker thread processes, or the web request's id) and
from `about_task` (the background task a run is for). The JSON format shows them; the text
format does not, so its lines stay as they were.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from middleware.correlation import current_message_context

#: The record attributes LogContext sets (None when unknown).
FIELDS = ("message_id", "task_id", "correlation_id", "correlation_ids")

_task_id: ContextVar[str | None] = ContextVar("zapq_task_id", default=None)


@contextmanager
def about_task(task_id: str) -> Iterator[None]:
    """Lines logged inside carry `task_id`."""
    token = _task_id.set(task_id)
    try:
        yield
    finally:
        _task_id.reset(token)


class LogContext(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        context = current_message_context()
        record.message_id = context.message_id if context else None
        record.correlation_id = context.correlation_id if context else None
        merged = context.merged_correlation_ids if context else ()
        # Only a burst that merged several webhooks lists them: one grep of any of them finds it.
        record.correlation_ids = list(merged) if len(merged) > 1 else None
        record.task_id = _task_id.get()
        return True
