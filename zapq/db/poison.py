"""Items that fail on their own are set aside, so the rest of their batch goes on.

A batch (a customer's burst, one sender's webhook events) is processed item by item, each in
its own savepoint. An item that fails with an error of its own (`ITEM_ERRORS`: PostgreSQL
refusing a value, a payload that no longer parses) is rolled back alone, recorded in
`poison_items`, logged with its id and counted; its batch-mates are processed. A dependency
outage is not an item's fault: it propagates, and the whole batch waits for the dependency
(see `zapq.outages`). An operator lists the poison with `GET /api/poison`.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from datetime import datetime

import msgspec
import psycopg
from psycopg.rows import class_row

from zapq import metrics
from zapq.outages import dependency_down

logger = logging.getLogger(__name__)

#: Errors that belong to one item rather than to its batch or to a dependency. PostgreSQL's
#: program limits (an index row too big) are OperationalErrors, hence named on their own.
ITEM_ERRORS: tuple[type[BaseException], ...] = (
    psycopg.DataError,
    psycopg.IntegrityError,
    psycopg.errors.ProgramLimitExceeded,
    ValueError,  # includes msgspec.ValidationError and UnicodeEncodeError (a lone surrogate)
    TypeError,
    KeyError,
)

MAX_ITEM_CHARS = 64 * 1024
MAX_ID_CHARS = 200
MAX_ERROR_CHARS = 2000


class PoisonItem(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    actor_name: str
    item_id: str
    batch_id: str | None
    error: str
    item: str
    seen: int
    created_at: datetime
    last_seen_at: datetime


def is_item_error(error: BaseException) -> bool:
    return isinstance(error, ITEM_ERRORS) and dependency_down(error) is None


class PoisonBin:
    """Runs each item of one batch alone; sets aside the ones that fail by themselves."""

    def __init__(self, connection: psycopg.Connection, actor_name: str, batch_id: str | None) -> None:
        self.connection = connection
        self.actor_name = actor_name
        self.batch_id = batch_id
        self.set_aside_ids: list[str] = []

    def attempt(
        self, item_id: object, item: object, work: Callable[[], None], *, savepoint: bool = True
    ) -> bool:
        """Run `work` (in a savepoint, unless it writes nothing); False when the item was set aside."""
        try:
            if savepoint:
                with self.connection.transaction():
                    work()
            else:
                work()
            return True
        except ITEM_ERRORS as error:
            if not is_item_error(error):
                raise
            self.set_aside(item_id, item, error)
            return False

    def set_aside(self, item_id: object, item: object, error: BaseException) -> None:
        set_aside(
            self.connection,
            actor_name=self.actor_name,
            item_id=item_id,
            batch_id=self.batch_id,
            item=item,
            error=error,
        )
        self.set_aside_ids.append(_escaped_id(item_id))


def set_aside(
    connection: psycopg.Connection,
    *,
    actor_name: str,
    item_id: object,
    batch_id: str | None,
    item: object,
    error: BaseException,
) -> None:
    """Record a poison item (once per actor and id), log it with its id, count it."""
    escaped_id = _escaped_id(item_id)
    reason = _escaped(f"{type(error).__name__}: {error}")[:MAX_ERROR_CHARS]
    connection.execute(
        "INSERT INTO poison_items (actor_name, item_id, batch_id, error, item) VALUES (%s, %s, %s, %s, %s)"
        " ON CONFLICT (actor_name, item_id) DO UPDATE SET seen = poison_items.seen + 1,"
        " last_seen_at = now(), error = EXCLUDED.error, batch_id = EXCLUDED.batch_id",
        (actor_name, escaped_id, batch_id and _escaped(batch_id)[:MAX_ID_CHARS], reason, _escaped_item(item)),
    )
    logger.error("poison item %s of %s (batch %s) set aside: %s", escaped_id, actor_name, batch_id, reason)
    metrics.poison_items().labels(actor_name).inc()


def list_poison(
    connection: psycopg.Connection, *, limit: int = 100, before_id: int | None = None
) -> list[PoisonItem]:
    """The newest poison items first; page with `before_id` (the last id of the previous page)."""
    with connection.cursor(row_factory=class_row(PoisonItem)) as cursor:
        cursor.execute(
            "SELECT id, actor_name, item_id, batch_id, error, item, seen, created_at, last_seen_at"
            " FROM poison_items WHERE (%s::bigint IS NULL OR id < %s) ORDER BY id DESC LIMIT %s",
            (before_id, before_id, limit),
        )
        return cursor.fetchall()


def _escaped(text: str) -> str:
    """ASCII with every control character and lone surrogate escaped: storable and loggable."""
    return json.dumps(text, ensure_ascii=True)[1:-1]


def _escaped_id(item_id: object) -> str:
    text = _escaped(item_id if isinstance(item_id, str) else repr(item_id))
    if len(text) <= MAX_ID_CHARS:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return f"{text[: MAX_ID_CHARS - 20]}...#{digest}"


def _escaped_item(item: object) -> str:
    text = json.dumps(item, ensure_ascii=True, default=repr)
    if len(text) > MAX_ITEM_CHARS:
        return text[:MAX_ITEM_CHARS] + f"... ({len(text)} chars)"
    return text
