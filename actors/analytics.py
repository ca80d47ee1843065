"""Analytics writes, on low_priority so they never delay a customer's reply."""

from __future__ import annotations

from typing import Any

import dramatiq

from zapq.queues import LOW_PRIORITY, PRIORITY


def _batch_id(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    return str(args[0]["batch_id"])


@dramatiq.actor(queue_name=LOW_PRIORITY, priority=PRIORITY[LOW_PRIORITY], idempotency_key=_batch_id)
def record_turn(turn: dict[str, Any]) -> None:
    """Store one answered burst in `conversation_turns` (PostgreSQL; DuckDB export has its own issue)."""
    # Worker-only code, imported here: the web imports this module only to send to the actor.
    from zapq.conversation.store import record_turn as insert_turn
    from zapq.db.connection import thread_connection

    insert_turn(thread_connection(), turn)
