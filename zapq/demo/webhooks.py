"""Webhook bodies shaped as Meta sends them, for the demo: a customer's messages and our sends' statuses.

The shapes are those of Meta's `messages` webhook reference, which `zapq.whatsapp.payloads` decodes.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec

from zapq.whatsapp.signature import SIGNATURE_HEADER, sign

#: The demo's business number: a reply goes out from the number the customer wrote to.
DEMO_PHONE_NUMBER_ID = "100000000000001"
DEMO_DISPLAY_PHONE_NUMBER = "5511900000000"
DEMO_BUSINESS_ACCOUNT_ID = "100000000000002"


def notification(value: dict[str, Any], *, phone_number_id: str = DEMO_PHONE_NUMBER_ID) -> bytes:
    """One `whatsapp_business_account` notification holding one `messages` change with `value`."""
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": DEMO_DISPLAY_PHONE_NUMBER, "phone_number_id": phone_number_id},
        **value,
    }
    change = {"field": "messages", "value": value}
    body = {
        "object": "whatsapp_business_account",
        "entry": [{"id": DEMO_BUSINESS_ACCOUNT_ID, "changes": [change]}],
    }
    return msgspec.json.encode(body)


def customer_message(
    wa_id: str, name: str, wamid: str, kind: str, content: dict[str, Any], *, context_wamid: str | None = None
) -> bytes:
    """A message of `kind` (text, image, location, interactive, ...) from customer `wa_id`."""
    message: dict[str, Any] = {"from": wa_id, "id": wamid, "timestamp": str(int(time.time())), "type": kind}
    message[kind] = content
    if context_wamid:  # a tap on a button or row names the message it was on
        message["context"] = {"from": DEMO_DISPLAY_PHONE_NUMBER, "id": context_wamid}
    contacts = [{"profile": {"name": name}, "wa_id": wa_id}]
    return notification({"contacts": contacts, "messages": [message]})


def status(phone_number_id: str, wamid: str, recipient: str, state: str) -> bytes:
    """Meta's report that our message `wamid` to `recipient` reached `state` (sent, delivered, read)."""
    report = {
        "id": wamid,
        "status": state,
        "timestamp": str(int(time.time())),
        "recipient_id": recipient,
        "conversation": {"id": f"demo-{recipient}", "origin": {"type": "service"}},
        "pricing": {"billable": False, "pricing_model": "PMP", "category": "service"},
    }
    return notification({"statuses": [report]}, phone_number_id=phone_number_id)


def signed_headers(app_secret: str, body: bytes) -> dict[str, str]:
    return {"content-type": "application/json", SIGNATURE_HEADER: sign(app_secret, body)}
