"""Quiet hours: a daily span, in the customers' time zone, when no campaign message goes out.

A message due inside them is deferred to their end, never dropped.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_SPAN = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*-\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")


@dataclass(frozen=True)
class QuietHours:
    """From `start` to `end` every day in `zone`; `start` after `end` wraps midnight (21:00-09:00)."""

    start: dt.time
    end: dt.time
    zone: ZoneInfo

    @classmethod
    def parse(cls, span: str, zone_name: str) -> QuietHours:
        """`HH:MM-HH:MM` (seconds optional) in the IANA zone `zone_name`; else ValueError."""
        match = _SPAN.match(span)
        if not match:
            raise ValueError(f"{span!r} is not HH:MM-HH:MM")
        hour, minute, second, end_hour, end_minute, end_second = (int(part or 0) for part in match.groups())
        try:
            start = dt.time(hour, minute, second)
            end = dt.time(end_hour, end_minute, end_second)
        except ValueError:
            raise ValueError(f"{span!r} names a time that does not exist") from None
        return cls(start, end, time_zone(zone_name))

    def ends_at(self, now: dt.datetime) -> dt.datetime | None:
        """When the quiet hours that hold at `now` (aware) end; None when `now` is outside them."""
        local = now.astimezone(self.zone)
        clock = local.time().replace(tzinfo=None)
        if self.start == self.end:
            return None
        if self.start < self.end:
            inside = self.start <= clock < self.end
            end_day = local.date()
        else:
            inside = clock >= self.start or clock < self.end
            end_day = local.date() + dt.timedelta(days=1) if clock >= self.start else local.date()
        if not inside:
            return None
        return dt.datetime.combine(end_day, self.end, tzinfo=self.zone)


def time_zone(name: str) -> ZoneInfo:
    """The IANA zone `name`; ValueError when there is none by that name."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not a known time zone") from None
