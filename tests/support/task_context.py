"""A `TaskContext` for calling a task type's handler directly: it records, and can report a cancel.

A test double of the service's side only (what the service does with progress and logs is the
service's tests' business); everything the handler itself talks to stays real.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from zapq.background.handlers import TaskCancelled

Level = Literal["debug", "info", "warning", "error"]


@dataclass
class RecordingContext:
    task_id: str = "task-0001"
    organization_id: str = "org-a"
    attempt: int = 1
    #: Report the task cancelled from this progress report on (1 = the first), as a cancel arriving then.
    cancel_at_progress: int | None = None
    cancelled: bool = False
    progress_reports: list[tuple[float, str]] = field(default_factory=list)
    lines: list[tuple[Level, str]] = field(default_factory=list)

    def progress(self, fraction: float, message: str = "") -> None:
        assert 0.0 <= fraction <= 1.0, fraction
        self.progress_reports.append((fraction, message))
        if self.cancel_at_progress is not None and len(self.progress_reports) >= self.cancel_at_progress:
            self.cancelled = True
        self.check_cancelled()

    def log(self, message: str, level: Level = "info") -> None:
        self.lines.append((level, message))

    def check_cancelled(self) -> None:
        if self.cancelled:
            raise TaskCancelled(self.task_id)

    def logged(self, contains: str = "") -> list[str]:
        return [message for _, message in self.lines if contains in message]
