"""Answered turns as `zapq.conversation.burst` records them, made up for analytics tests and the bench."""

from __future__ import annotations

import datetime as dt
from typing import Any

BUSINESS_NUMBER = "100200300"


def turn(
    number: int,
    *,
    wa_id: str | None = None,
    replied_at: dt.datetime | None = None,
    latency_ms: int = 1500,
    actions: list[dict[str, Any]] | None = None,
    vehicle_ids: list[int] | None = None,
    reply_text: str = "Temos sim!",
    intent: str = "search",
) -> dict[str, Any]:
    replied_at = replied_at or dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC) + dt.timedelta(seconds=number)
    return {
        "batch_id": f"batch-{number}",
        "phone_number_id": BUSINESS_NUMBER,
        "wa_id": wa_id or f"55119{number % 50:08d}",
        "inbound_wamids": [f"wamid.{number}.a", f"wamid.{number}.b"],
        "inbound_text": "oi\nvocês têm Corolla?",
        "reply_text": reply_text,
        "reply_status": "sent",
        "engine": "rules",
        "actions": actions or [],
        "first_inbound_at": (replied_at - dt.timedelta(milliseconds=latency_ms)).isoformat(),
        "replied_at": replied_at.isoformat(),
        "intent": intent,
        "inbound_kinds": ["text", "text"],
        "vehicle_ids": vehicle_ids or [],
    }
