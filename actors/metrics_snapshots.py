"""Every minute: a snapshot of the queues and the conversations, one row per tick, and its gauges."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from schedules import METRICS_SNAPSHOT
from zapq.queues import LOW_PRIORITY, PRIORITY

#: How long a tick's run is remembered: far longer than any backlog, far shorter than forever.
TICK_DEDUP_MS = 3_600_000


class TickActor(dramatiq.Actor[..., Any]):
    """An actor whose tick is always its `scheduled_at` argument, so flow control can key on it.

    periodiq sends a tick as the `scheduled_at` message option, with no argument; a caller may
    send one with no tick at all. Either way the message gets its tick as an argument (the
    current minute when none was given), and the `dedup` option keys on that minute.
    """

    def send_with_options(  # type: ignore[override]
        self,
        *,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
        delay: int | None = None,
        **options: Any,
    ) -> dramatiq.Message[Any]:
        if not args and not (kwargs or {}).get("scheduled_at"):
            tick = (
                options.get("scheduled_at") or datetime.now(UTC).replace(second=0, microsecond=0).isoformat()
            )
            kwargs = {**(kwargs or {}), "scheduled_at": str(tick)}
        return super().send_with_options(args=args, kwargs=kwargs, delay=delay, **options)


def tick_minute(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """The dedup key: the minute of the tick, whatever its seconds or its time zone."""
    tick = args[0] if args else kwargs.get("scheduled_at")
    if not tick:
        return "no-tick"  # only a message sent around TickActor; it still gets one run per hour
    return datetime.fromisoformat(str(tick)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


@dramatiq.actor(
    actor_class=TickActor,
    queue_name=LOW_PRIORITY,
    priority=PRIORITY[LOW_PRIORITY],
    periodic=METRICS_SNAPSHOT,
    dedup=TICK_DEDUP_MS,
    dedup_key=tick_minute,
)
def collect_metrics(scheduled_at: str | None = None) -> None:
    """Snapshot the queues and conversations for the tick `scheduled_at`; set the gauges.

    Two schedulers' ticks make one run (the `dedup` option, on the tick's minute) and one row
    (the tick is the row's key, in PostgreSQL and in DuckDB, where the exporter copies it).
    """
    # Worker-only code, imported here: the web imports this package only to send to the actors.
    from actors.analytics import trigger_export
    from zapq.analytics.snapshot import set_gauges, store_snapshot, take_snapshot
    from zapq.db.connection import thread_connection

    tick = datetime.fromisoformat(scheduled_at) if scheduled_at else datetime.now(UTC)
    broker = dramatiq.get_broker()
    assert isinstance(broker, RedisBroker), "zapq's broker is Redis (actors/broker.py)"
    connection = thread_connection()
    snapshot = take_snapshot(
        broker.client, broker.namespace, connection, tick.replace(second=0, microsecond=0)
    )
    if store_snapshot(connection, snapshot):
        set_gauges(snapshot)
    trigger_export("tick")  # also the exporter's safety net: at least one trigger a minute
