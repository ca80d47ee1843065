"""Rows the re-engagement tests start from: conversations, what customers said, cars in stock."""

from __future__ import annotations

import datetime as dt

import psycopg
from psycopg.types.json import Jsonb

from tests.support import meta_samples as meta

PNID = meta.PHONE_NUMBER_ID


def conversation(
    db: psycopg.Connection, wa_id: str, last_inbound_at: dt.datetime, *,
    replied_at: dt.datetime | None = None, shown: str = "", mode: str = "bot", opted_out: bool = False,
    profile_name: str = "Ana Souza",
) -> None:  # fmt: skip
    """A conversation (and, with `replied_at`, our answer to its last message)."""
    db.execute(
        "INSERT INTO conversations (phone_number_id, wa_id, profile_name, last_inbound_at, mode, opted_out,"
        " engine_state) VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (
            PNID, wa_id, profile_name, last_inbound_at, mode, opted_out,
            Jsonb({"wa_id": wa_id, "facts": {"shown": shown}}),
        ),
    )  # fmt: skip
    if replied_at is not None:
        db.execute(
            "INSERT INTO conversation_turns (batch_id, phone_number_id, wa_id, inbound_wamids, inbound_text,"
            " reply_text, reply_status, engine, actions, first_inbound_at, replied_at)"
            " VALUES (%s, %s, %s, '{}', 'oi', 'olá', 'sent', 'rules', '[]', %s, %s)",
            (f"b-{wa_id}", PNID, wa_id, last_inbound_at, replied_at),
        )


def said(db: psycopg.Connection, wa_id: str, text: str, at: dt.datetime) -> None:
    db.execute(
        "INSERT INTO inbound_messages (phone_number_id, wamid, wa_id, kind, text, sent_at, batch_id, payload)"
        " VALUES (%s, %s, %s, 'text', %s, %s, 'b', '{}')",
        (PNID, f"w-{wa_id}-{at.timestamp()}", wa_id, text, at),
    )


def stock(db: psycopg.Connection, code: str, make: str, model: str, price: int, body: str = "sedan") -> int:
    """A car arriving in stock now (the trigger records it); its id."""
    row = db.execute(
        "INSERT INTO vehicles (stock_code, make, model, year, price, colour, body_type)"
        " VALUES (%s, %s, %s, 2023, %s, 'prata', %s) RETURNING id",
        (code, make, model, price, body),
    ).fetchone()
    assert row is not None
    return int(row[0])


def stocked_long_ago(db: psycopg.Connection) -> None:
    """Every car in stock arrived 60 days ago: out of any scan's lookback, no longer news."""
    db.execute("UPDATE inventory_changes SET changed_at = changed_at - interval '60 days'")


def arriving(db: psycopg.Connection, *codes: str) -> dict[str, int]:
    """Cars of the stock made available again now (the trigger records an arrival); their ids by code."""
    db.execute("UPDATE vehicles SET status = 'reserved' WHERE stock_code = ANY(%s)", (list(codes),))
    rows = db.execute(
        "UPDATE vehicles SET status = 'available' WHERE stock_code = ANY(%s) RETURNING stock_code, id",
        (list(codes),),
    ).fetchall()
    return {code: int(vehicle_id) for code, vehicle_id in rows}
