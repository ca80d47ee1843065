"""PostgreSQL's side of analytics: the durable staging area every worker writes to.

A turn is inserted once (keyed by its burst's batch id), from any worker on any machine, in the
same way whatever the DuckDB file is doing; the exporter takes it from here.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.types.json import Jsonb


def stage_turn(connection: psycopg.Connection, turn: dict[str, Any]) -> bool:
    """Keep the analytics record of one answered burst; False when it was already kept.

    Records made before a field existed (a redelivered `last_turn`) get its empty value.
    """
    cursor = connection.execute(
        "INSERT INTO conversation_turns (batch_id, phone_number_id, wa_id, inbound_wamids, inbound_text,"
        " reply_text, reply_status, engine, actions, first_inbound_at, replied_at, intent, inbound_kinds,"
        " vehicle_ids)"
        " VALUES (%(batch_id)s, %(phone_number_id)s, %(wa_id)s, %(inbound_wamids)s, %(inbound_text)s,"
        " %(reply_text)s, %(reply_status)s, %(engine)s, %(actions)s, %(first_inbound_at)s, %(replied_at)s,"
        " %(intent)s, %(inbound_kinds)s, %(vehicle_ids)s)"
        " ON CONFLICT (batch_id) DO NOTHING",
        {
            "intent": "",
            "inbound_kinds": [],
            "vehicle_ids": [],
            **turn,
            "actions": Jsonb(turn["actions"]),
        },
    )
    return cursor.rowcount == 1


def table_exists(connection: psycopg.Connection, name: str) -> bool:
    row = connection.execute("SELECT to_regclass(%s) IS NOT NULL", (name,)).fetchone()
    return bool(row and row[0])
