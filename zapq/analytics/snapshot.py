"""The minute's snapshot: how full the queues are and how the conversations go, for rows and gauges.

Taken by `collect_metrics` once per tick, kept in PostgreSQL's `metrics_snapshots` (unique per
tick, like a turn per burst), copied to DuckDB by the exporter, and set as Prometheus gauges.
"""

from __future__ import annotations

import datetime as dt

import msgspec
import psycopg
import redis
from psycopg.types.json import Jsonb

from zapq import metrics
from zapq.analytics.staging import table_exists
from zapq.keyspace import acks_key, dead_letter_key, delay_queue_key, heartbeat_key, queue_key
from zapq.queues import QUEUES


class Snapshot(msgspec.Struct, frozen=True, kw_only=True):
    scheduled_at: dt.datetime
    queue_depths: dict[str, int]
    delayed_depths: dict[str, int]
    dead_letter_depths: dict[str, int]
    in_flight: int
    active_conversations_1h: int
    bursts_answered_1m: int
    reply_latency_median_5m_ms: float | None
    reengagement_sent_1m: int
    unexported_turns: int  # a gauge only: the exporter's backlog
    export_lag_s: float  # a gauge only: how long the oldest of those has waited


def take_snapshot(
    client: redis.Redis, namespace: str, connection: psycopg.Connection, scheduled_at: dt.datetime
) -> Snapshot:
    """`namespace` is the broker's (REDIS_NAMESPACE)."""
    pipe = client.pipeline(transaction=False)
    for queue in QUEUES:
        pipe.llen(queue_key(namespace, queue))
        pipe.llen(delay_queue_key(namespace, queue))
        pipe.zcard(dead_letter_key(namespace, queue))
    depths = [int(value) for value in pipe.execute()]
    # In flight: what each live worker (by its heartbeat) took from a queue and has not acked.
    workers = [
        w.decode() if isinstance(w, bytes) else str(w) for w in client.zrange(heartbeat_key(namespace), 0, -1)
    ]
    for worker in workers:
        for queue in QUEUES:
            pipe.scard(acks_key(namespace, worker, queue))
    in_flight = sum(int(value) for value in pipe.execute()) if workers else 0
    active, answered, median_ms, unexported, lag_s = connection.execute(
        "SELECT (SELECT count(*) FROM conversations WHERE last_inbound_at > now() - interval '1 hour'),"
        " (SELECT count(*) FROM conversation_turns"
        "   WHERE replied_at > now() - interval '1 minute' AND reply_text <> ''),"
        " (SELECT percentile_cont(0.5) WITHIN GROUP"
        "   (ORDER BY extract(epoch FROM replied_at - first_inbound_at) * 1000)"
        "   FROM conversation_turns WHERE replied_at > now() - interval '5 minutes' AND reply_text <> ''),"
        " (SELECT count(*) FROM conversation_turns WHERE export_seq IS NULL),"
        " (SELECT extract(epoch FROM now() - min(replied_at))"
        "   FROM conversation_turns WHERE export_seq IS NULL)"
    ).fetchone() or (0, 0, None, 0, None)
    sent = 0
    if table_exists(connection, "reengagement_sends"):
        row = connection.execute(
            "SELECT count(*) FROM reengagement_sends"
            " WHERE sent_at > now() - interval '1 minute' AND status = 'sent'"
        ).fetchone()
        sent = int(row[0]) if row else 0
    return Snapshot(
        scheduled_at=scheduled_at,
        queue_depths={queue: depths[3 * n] for n, queue in enumerate(QUEUES)},
        delayed_depths={queue: depths[3 * n + 1] for n, queue in enumerate(QUEUES)},
        dead_letter_depths={queue: depths[3 * n + 2] for n, queue in enumerate(QUEUES)},
        in_flight=in_flight,
        active_conversations_1h=int(active),
        bursts_answered_1m=int(answered),
        reply_latency_median_5m_ms=None if median_ms is None else float(median_ms),
        reengagement_sent_1m=sent,
        unexported_turns=int(unexported),
        export_lag_s=max(0.0, float(lag_s)) if lag_s is not None else 0.0,
    )


def store_snapshot(connection: psycopg.Connection, snapshot: Snapshot) -> bool:
    """Keep the tick's row; False when this tick already has one (another scheduler's run)."""
    cursor = connection.execute(
        "INSERT INTO metrics_snapshots (scheduled_at, queue_depths, webhook_events, delayed_depths,"
        " dead_letter_depths, in_flight, active_conversations_1h, bursts_answered_1m,"
        " reply_latency_median_5m_ms, reengagement_sent_1m)"
        " VALUES (%s, %s, (SELECT count(*) FROM webhook_events), %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (scheduled_at) DO NOTHING",
        (
            snapshot.scheduled_at, Jsonb(snapshot.queue_depths), Jsonb(snapshot.delayed_depths),
            Jsonb(snapshot.dead_letter_depths), snapshot.in_flight, snapshot.active_conversations_1h,
            snapshot.bursts_answered_1m, snapshot.reply_latency_median_5m_ms, snapshot.reengagement_sent_1m,
        ),
    )  # fmt: skip
    return cursor.rowcount == 1


def set_gauges(snapshot: Snapshot) -> None:
    for state, depths in (
        ("ready", snapshot.queue_depths),
        ("delayed", snapshot.delayed_depths),
        ("dead", snapshot.dead_letter_depths),
    ):
        for queue, depth in depths.items():
            metrics.queue_messages().labels(queue, state).set(depth)
    metrics.messages_in_flight().set(snapshot.in_flight)
    metrics.conversations_active().set(snapshot.active_conversations_1h)
    metrics.bursts_answered_recently().set(snapshot.bursts_answered_1m)
    latency_s = snapshot.reply_latency_median_5m_ms
    metrics.reply_latency_median().set(0.0 if latency_s is None else latency_s / 1000)
    metrics.reengagement_sent_recently().set(snapshot.reengagement_sent_1m)
    metrics.analytics_unexported().set(snapshot.unexported_turns)
    metrics.analytics_export_lag().set(snapshot.export_lag_s)
