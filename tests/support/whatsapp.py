"""Posting signed WhatsApp notifications to the web app, as Meta would."""

from __future__ import annotations

import time
from typing import Any

from starlette.testclient import TestClient

from tests.support import meta_samples as meta
from zapq.whatsapp.signature import sign

APP_SECRET = "test-app-secret"  # WHATSAPP_WEBHOOK_SECRET in tests/conftest.py


def text(
    wamid: str, body: str, *, sender: str = meta.USER_WA_ID, sent_at: float | None = None
) -> dict[str, Any]:
    """A text message sent now (or at `sent_at`, unix seconds)."""
    timestamp = str(int(sent_at if sent_at is not None else time.time()))
    return meta.user_message("text", {"body": body}, wamid=wamid, sender=sender, timestamp=timestamp)


def post_messages(
    client: TestClient, *messages: dict[str, Any], contacts: list[dict[str, Any]] | None = None
) -> Any:
    return post_signed(client, meta.body_with_messages(*messages, contacts=contacts))


def post_signed(client: TestClient, body: bytes, secret: str = APP_SECRET) -> Any:
    headers = {"content-type": "application/json", "x-hub-signature-256": sign(secret, body)}
    return client.post("/webhook/whatsapp", content=body, headers=headers)
