"""Repeated warnings and errors are rate-limited, with a count of what was suppressed.

A dependency that stays down, or one hostile request with 100,000 bad parts, must not write
100,000 lines: each handler lets through at most `limit` records of one kind (logger, level
and message template) per `window_s`, and says how many it held back when the window ends.
Lines below `capped_from` (INFO: a webhook received, a burst answered, a reply sent, a request)
are one per event and tell a customer's story, so they are never cut.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable

MAX_KINDS = 1024
SUMMARY_LOGGER = "zapq.logs"


class _Kind:
    __slots__ = ("count", "level", "logger_name", "started", "suppressed", "template")

    def __init__(self, record: logging.LogRecord, now: float) -> None:
        self.logger_name, self.level, self.template = record.name, record.levelno, str(record.msg)[:200]
        self.started, self.count, self.suppressed = now, 0, 0


class RepeatLimit(logging.Filter):
    """A handler's filter: at most `limit` records of one kind per `window_s` seconds.

    Only records at `capped_from` (WARNING) and above are counted; the others all pass.
    """

    def __init__(
        self,
        handler: logging.Handler,
        *,
        limit: int,
        window_s: float,
        capped_from: int = logging.WARNING,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.handler, self.limit, self.window_s, self.clock = handler, limit, window_s, clock
        self.capped_from = capped_from
        self._kinds: OrderedDict[tuple[str, int, str], _Kind] = OrderedDict()
        self._last_sweep = clock()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == SUMMARY_LOGGER:
            return True
        now = self.clock()
        if now - self._last_sweep >= self.window_s:
            self._last_sweep = now
            self._report_ended_windows(now)
        if record.levelno < self.capped_from:
            return True
        key = (record.name, record.levelno, str(record.msg))
        kind = self._kinds.get(key)
        if kind is None:
            kind = self._kinds[key] = _Kind(record, now)
            while len(self._kinds) > MAX_KINDS:
                self._report(self._kinds.popitem(last=False)[1])
        elif now - kind.started >= self.window_s:
            self._report(kind)
            kind.started, kind.count = now, 0
        kind.count += 1
        if kind.count <= self.limit:
            return True
        kind.suppressed += 1
        return False

    def _report_ended_windows(self, now: float) -> None:
        for kind in list(self._kinds.values()):
            if kind.suppressed and now - kind.started >= self.window_s:
                self._report(kind)

    def _report(self, kind: _Kind) -> None:
        if not kind.suppressed:
            return
        suppressed, kind.suppressed = kind.suppressed, 0
        summary = logging.LogRecord(
            SUMMARY_LOGGER, logging.WARNING, __file__, 0,
            "%d more %s line(s) from %s like %r were suppressed in %.0f s",
            (suppressed, logging.getLevelName(kind.level), kind.logger_name, kind.template, self.window_s),
            None,
        )  # fmt: skip
        self.handler.handle(summary)


def limit_repeated_lines(handler: logging.Handler, *, limit: int, window_s: float) -> None:
    """Put a `RepeatLimit` on `handler`, unless it has one. Idempotent."""
    if not any(isinstance(f, RepeatLimit) for f in handler.filters):
        handler.addFilter(RepeatLimit(handler, limit=limit, window_s=window_s))
