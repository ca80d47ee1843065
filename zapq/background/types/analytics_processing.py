"""`analytics_processing`: the per-day report over a date range, from the DuckDB file, as the task's result.

The days are `zapq.analytics.summary`'s, the same numbers `GET /api/analytics/summary` gives, read
one day at a time: progress after each, and the file is opened for one day's queries only, so the
exporter (which holds it briefly to append) gets in between. A file held longer than
`DUCKDB_LOCK_WAIT_S` fails the attempt (`FileBusy`), to be retried. Only a node that has the file
can run this (docs/operations.md#analytics); elsewhere every day would read zero, so the log says
when there is no file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from zapq.analytics.duckdb_file import FileBusy
from zapq.analytics.summary import MAX_DAYS, summarize
from zapq.background.handlers import TaskContext, register
from zapq.background.types.payloads import decode_payload
from zapq.background.types.retries import retry_policy
from zapq.settings import get_settings

TASK_TYPE = "analytics_processing"
#: Per-day counts the report adds up over the range.
SUMMED = ("conversations", "new_leads", "bursts_answered", "handoffs", "test_drives_booked", "opt_outs")


class AnalyticsProcessingPayload(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    date_from: Annotated[dt.date, Meta(description="First day, YYYY-MM-DD (the dealership's, São Paulo).")]
    date_to: Annotated[dt.date, Meta(description=f"Last day, included; at most {MAX_DAYS} days in all.")]

    def __post_init__(self) -> None:
        if self.date_from > self.date_to:
            raise ValueError(f"date_from ({self.date_from}) is after date_to ({self.date_to})")
        if (self.date_to - self.date_from).days + 1 > MAX_DAYS:
            raise ValueError(f"date_to is more than {MAX_DAYS} days after date_from")

    @property
    def days(self) -> list[dt.date]:
        return [
            self.date_from + dt.timedelta(days=n) for n in range((self.date_to - self.date_from).days + 1)
        ]


@register(TASK_TYPE, retry=retry_policy(TASK_TYPE))
def process_analytics(context: TaskContext, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The report from `date_from` to `date_to`: each day as the summary has it, and the range's totals."""
    request = decode_payload(payload, AnalyticsProcessingPayload)
    settings = get_settings()
    path = settings.analytics_path
    if not path.exists():
        context.log(f"no analytics file at {path} on this node: every day reads zero", "warning")
    days: list[dict[str, Any]] = []
    every_day = request.days
    for day in every_day:
        try:
            report = summarize(path, day, day, wait_s=settings.duckdb_lock_wait_s)
        except FileBusy as busy:
            context.log(f"{day}: {busy}; the attempt fails, to be retried", "warning")
            raise
        days.extend(report["days"])
        context.progress(
            len(days) / len(every_day), f"{day}: {report['days'][0]['conversations']} conversations"
        )
    return {
        "from": request.date_from.isoformat(),
        "to": request.date_to.isoformat(),
        "timezone": report["timezone"],
        "totals": totals(days),
        "days": days,
    }


def totals(days: list[dict[str, Any]]) -> dict[str, Any]:
    """The range at a glance: the per-day counts summed, and re-engagement's reply rate over all of it."""
    summed: dict[str, Any] = {name: sum(day[name] for day in days) for name in SUMMED}
    sent = sum(day["reengagement"]["sent"] for day in days)
    replied = sum(day["reengagement"]["replied_within_72h"] for day in days)
    summed["reengagement"] = {
        "sent": sent,
        "replied_within_72h": replied,
        "reply_rate": round(replied / sent, 4) if sent else None,
    }
    return summed
