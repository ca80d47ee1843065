"""Every minute: a snapshot of queue depths and event counts, one row per tick."""

from __future__ import annotations

from datetime import datetime

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import CurrentMessage

from schedules import METRICS_SNAPSHOT
from zapq.keyspace import queue_key
from zapq.queues import LOW_PRIORITY, PRIORITY, QUEUES


@dramatiq.actor(queue_name=LOW_PRIORITY, priority=PRIORITY[LOW_PRIORITY], periodic=METRICS_SNAPSHOT)
def collect_metrics(scheduled_at: str | None = None) -> None:
    """Record queue depths. `scheduled_at` is unique: two schedulers' ticks make one row."""
    # Worker-only code, imported here: the web imports this package only to send to the actors.
    from psycopg.types.json import Jsonb

    from zapq.db.connection import thread_connection
    from zapq.db.webhook_events import count_webhook_events

    message = CurrentMessage.get_current_message()
    tick = scheduled_at or (message.options.get("scheduled_at") if message else None)
    taken_for = datetime.fromisoformat(tick) if tick else datetime.now().astimezone()
    broker = dramatiq.get_broker()
    depths = {}
    if isinstance(broker, RedisBroker):
        depths = {queue: int(broker.client.llen(queue_key(broker.namespace, queue))) for queue in QUEUES}
    connection = thread_connection()
    connection.execute(
        "INSERT INTO metrics_snapshots (scheduled_at, queue_depths, webhook_events)"
        " VALUES (%s, %s, %s) ON CONFLICT (scheduled_at) DO NOTHING",
        (taken_for, Jsonb(depths), count_webhook_events(connection)),
    )
