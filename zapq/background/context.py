"""The running task's side of the service, kept in PostgreSQL: what `TaskContext` does for a handler.

Progress is written at most every `min_progress_interval_s` (and always at 1.0 or when the
message changes), so a handler may report per item without a query per item; each write is also
the cancellation check, so `progress` stops a cancelled task at no extra cost.
"""

from __future__ import annotations

import logging
import time
from typing import Literal

import psycopg

from zapq.background import store
from zapq.background.handlers import TaskCancelled
from zapq.background.store import RunClaim

logger = logging.getLogger(__name__)

DEFAULT_MIN_PROGRESS_INTERVAL_S = 0.1
LEVELS = ("debug", "info", "warning", "error")


class PostgresTaskContext:
    def __init__(
        self,
        connection: psycopg.Connection,
        claim: RunClaim,
        *,
        min_progress_interval_s: float = DEFAULT_MIN_PROGRESS_INTERVAL_S,
    ) -> None:
        self.connection = connection
        self.claim = claim
        self.min_progress_interval_s = min_progress_interval_s
        self._last_write = 0.0
        self._last_message: str | None = None
        self.cancelled = False

    @property
    def task_id(self) -> str:
        return self.claim.task_id

    @property
    def organization_id(self) -> str:
        return self.claim.organization_id

    @property
    def attempt(self) -> int:
        return self.claim.attempt

    def progress(self, fraction: float, message: str = "") -> None:
        if self.cancelled:
            raise TaskCancelled(self.task_id)
        now = time.monotonic()
        due = now - self._last_write >= self.min_progress_interval_s
        if not (due or fraction >= 1.0 or message != self._last_message):
            return
        self._last_write, self._last_message = now, message
        if not store.record_progress(self.connection, self.task_id, self.attempt, float(fraction), message):
            self._stop()
        if self.claim.parent_id:
            store.refresh_parent(self.connection, self.claim.parent_id)

    def log(self, message: str, level: Literal["debug", "info", "warning", "error"] = "info") -> None:
        store.append_log(
            self.connection, self.task_id, self.attempt, level if level in LEVELS else "info", str(message)
        )

    def check_cancelled(self) -> None:
        if self.cancelled or not store.still_wanted(self.connection, self.task_id, self.attempt):
            self._stop()

    def _stop(self) -> None:
        self.cancelled = True
        raise TaskCancelled(self.task_id)
