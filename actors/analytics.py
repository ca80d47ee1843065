"""Analytics writes: every answered turn into DuckDB, without ever delaying a customer's reply.

`save_session_to_duckdb` (low_priority, any worker, any machine) keeps the turn in PostgreSQL,
the durable staging area, and triggers `export_to_duckdb`; that one runs on the `analytics`
queue, which only workers beside the DuckDB file consume, and appends what is staged, one
exporter at a time (zapq/analytics/exporter.py, docs/operations.md#analytics).
"""

from __future__ import annotations

import logging
from typing import Any

import dramatiq

from zapq.queues import ANALYTICS, LOW_PRIORITY, PRIORITY

logger = logging.getLogger(__name__)


def session_turn_key(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """`session_id:turn_id`: the conversation (business number and customer), then the burst."""
    turn = args[0] if args else kwargs["turn"]
    return f"{turn['phone_number_id']}/{turn['wa_id']}:{turn['batch_id']}"


@dramatiq.actor(queue_name=LOW_PRIORITY, priority=PRIORITY[LOW_PRIORITY], idempotency_key=session_turn_key)
def save_session_to_duckdb(turn: dict[str, Any]) -> None:
    """Stage one answered burst (the record `zapq.conversation.burst` makes) and trigger the export."""
    # Worker-only code, imported here: the web imports this module only to send to the actor.
    from zapq.analytics.staging import stage_turn
    from zapq.db.connection import thread_connection

    stage_turn(thread_connection(), turn)
    export_to_duckdb.send()


@dramatiq.actor(queue_name=LOW_PRIORITY, priority=PRIORITY[LOW_PRIORITY], idempotency_key=session_turn_key)
def record_turn(turn: dict[str, Any]) -> None:
    """The name this actor had before DuckDB: messages queued by an older release still arrive."""
    save_session_to_duckdb.fn(turn)


@dramatiq.actor(queue_name=ANALYTICS, priority=PRIORITY[ANALYTICS])
def export_to_duckdb() -> None:
    """Append what PostgreSQL staged to the DuckDB file; a no-op while another exporter runs."""
    from zapq import metrics
    from zapq.analytics.exporter import ExportOutcome, export_pending, target_from_settings
    from zapq.db.connection import thread_connection
    from zapq.settings import get_settings

    report = export_pending(thread_connection(), target_from_settings(get_settings()))
    if report.turns:
        metrics.analytics_exported().inc(report.turns)
        logger.info("exported %d turn(s) to DuckDB in %d batch(es)", report.turns, report.batches)
    if report.outcome is ExportOutcome.TIME_UP:
        export_to_duckdb.send()  # the rest in a fresh run, within the actor's time limit
