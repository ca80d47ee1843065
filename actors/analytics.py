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

#: The export runs this long after the last turn saved, or this long after the first, at the latest.
EXPORT_QUIET_MS = 500
EXPORT_MAX_WAIT_MS = 3000
EXPORT_MAX_TRIGGERS = 100_000
#: A trigger's flow-control record (one per turn) is kept this long, not a day: it guards nothing.
TRIGGER_MEMORY_MS = 600_000


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
    trigger_export("turn")


@dramatiq.actor(queue_name=LOW_PRIORITY, priority=PRIORITY[LOW_PRIORITY], idempotency_key=session_turn_key)
def record_turn(turn: dict[str, Any]) -> None:
    """The name this actor had before DuckDB: messages queued by an older release still arrive."""
    save_session_to_duckdb.fn(turn)


def _one_window(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    return "duckdb"


@dramatiq.actor(
    queue_name=ANALYTICS,
    priority=PRIORITY[ANALYTICS],
    debounce=_one_window,
    debounce_window=EXPORT_QUIET_MS,
    debounce_max_wait=EXPORT_MAX_WAIT_MS,
    debounce_max_items=EXPORT_MAX_TRIGGERS,
    idempotency_ttl=TRIGGER_MEMORY_MS,
)
def export_to_duckdb(triggers: list[str]) -> None:
    """Append what PostgreSQL staged to the DuckDB file; a no-op while another exporter runs.

    Debounced: the triggers of every turn saved within a few seconds make one run (one batch
    of appends), so the export does not run, open the file and leave once per turn.
    """
    from zapq import metrics
    from zapq.analytics.exporter import ExportOutcome, export_pending, target_from_settings
    from zapq.db.connection import thread_connection
    from zapq.settings import get_settings

    report = export_pending(thread_connection(), target_from_settings(get_settings()))
    if report.turns:
        metrics.analytics_exported().inc(report.turns)
        logger.info(
            "exported %d turn(s) to DuckDB in %d batch(es) (%d trigger(s))", report.turns, report.batches,
            len(triggers),
        )  # fmt: skip
    if report.outcome is ExportOutcome.TIME_UP:
        trigger_export("more")  # the rest in a fresh run, within the actor's time limit


def trigger_export(reason: str) -> None:
    """Ask for an export: `reason` becomes one item of the debounced batch that runs it."""
    export_to_duckdb.send(reason)  # type: ignore[arg-type]  # debounced: each send is one item
