"""The console's action log: who did what from the operator console (migration 0014)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
import psycopg
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

MAX_TARGET_CHARS = 500


class ConsoleAction(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    at: datetime
    actor: str
    role: str
    action: str
    target: str
    detail: dict[str, Any]


def insert_action(
    connection: psycopg.Connection[Any], *, actor: str, role: str, action: str, target: str,
    detail: dict[str, Any],
) -> int:  # fmt: skip
    row = connection.execute(
        "INSERT INTO console_actions (actor, role, action, target, detail) VALUES (%s, %s, %s, %s, %s)"
        " RETURNING id",
        (actor, role, action, target[:MAX_TARGET_CHARS], Jsonb(detail)),
    ).fetchone()
    assert row is not None
    return int(row[0])


def recent_actions(connection: psycopg.Connection[Any], *, limit: int) -> list[ConsoleAction]:
    """The newest first."""
    with connection.cursor(row_factory=class_row(ConsoleAction)) as cursor:
        return cursor.execute(
            "SELECT id, at, actor, role, action, target, detail FROM console_actions"
            " ORDER BY id DESC LIMIT %s",
            (limit,),
        ).fetchall()
