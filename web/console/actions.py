"""Who did it: every mutating console action is logged with its actor and recorded in PostgreSQL.

Call `record_action` after the action succeeded (a requeue, a delete, a released key, a cancelled
task, a conversation handed back). The log line is written first and always; the row in
`console_actions` (migration 0014) too, unless PostgreSQL is down, which is logged and does not
undo or fail the action that already happened.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from web.console.auth import Caller
from zapq.db.console_actions import insert_action

logger = logging.getLogger(__name__)


async def record_action(
    request: Request, caller: Caller, action: str, target: str, detail: dict[str, Any] | None = None
) -> bool:
    """Log and record `action` (a dotted name of our own, e.g. "dead_letter.requeue") on `target`.

    `target` names what was acted on in words of ours (a message id we checked, a queue name from
    our set); never put a customer's phone number in it: use a customer tag (zapq/customer_ids.py).
    True when the row was written.
    """
    detail = detail or {}
    logger.info("console action %s on %s by %s (%s) %s", action, target, caller.actor, caller.role.value,
                detail or "")  # fmt: skip
    pool: ConnectionPool = request.app.state.database
    try:
        await run_in_threadpool(_insert, pool, caller, action, target, detail)
    except psycopg.OperationalError as error:
        logger.warning("console action %s by %s not recorded: PostgreSQL: %s", action, caller.actor, error)
        return False
    return True


def _insert(pool: ConnectionPool, caller: Caller, action: str, target: str, detail: dict[str, Any]) -> None:
    with pool.connection() as connection:
        insert_action(connection, actor=caller.actor, role=caller.role.value, action=action,
                      target=target, detail=detail)  # fmt: skip
