"""Posting signed events to `POST /webhook`, as an authorised sender would."""

from __future__ import annotations

from typing import Any

import msgspec

from zapq.whatsapp.signature import ZAPQ_SIGNATURE_HEADER as SIGNATURE_HEADER
from zapq.whatsapp.signature import sign

GENERIC_SECRET = "test-generic-secret"  # GENERIC_WEBHOOK_SECRET in tests/conftest.py


def signed_headers(body: bytes, secret: str = GENERIC_SECRET) -> dict[str, str]:
    return {"content-type": "application/json", SIGNATURE_HEADER: sign(secret, body)}


def signed_event(event: Any, secret: str = GENERIC_SECRET) -> tuple[bytes, dict[str, str]]:
    """The JSON body of `event` and the headers that sign it: `httpx.post(url, content=..., headers=...)`."""
    body = msgspec.json.encode(event)
    return body, signed_headers(body, secret)


def post_event(client: Any, event: Any, secret: str = GENERIC_SECRET) -> Any:
    """POST `event` (any JSON value) to /webhook with `client` (a TestClient or an httpx.Client)."""
    body, headers = signed_event(event, secret)
    return client.post("/webhook", content=body, headers=headers)
