"""Webhook bodies shaped like the samples in Meta's `messages` webhook reference.

Identifiers follow the reference's example values; the conversation is a lead writing to a
car dealership in Brazil. Builders return plain dicts so a test can break any part of them.
"""

from __future__ import annotations

from typing import Any

import msgspec

BUSINESS_ACCOUNT_ID = "102290129340398"
DISPLAY_PHONE_NUMBER = "15550783881"
PHONE_NUMBER_ID = "106540352242922"

USER_WA_ID = "5511987654321"
USER_NAME = "Ana Souza"

WAMID = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="
OUR_WAMID = "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3RjhGMjY0MjRFNDdBRDNBQkIA"
SENT_AT_UNIX = "1749416383"  # 2025-06-08T20:59:43Z


def notification(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"object": "whatsapp_business_account", "entry": list(entries)}


def entry(*changes: dict[str, Any], account_id: str = BUSINESS_ACCOUNT_ID) -> dict[str, Any]:
    return {"id": account_id, "changes": list(changes)}


def messages_change(
    *,
    messages: list[dict[str, Any]] | None = None,
    statuses: list[dict[str, Any]] | None = None,
    errors: list[dict[str, Any]] | None = None,
    contacts: list[dict[str, Any]] | None = None,
    phone_number_id: str = PHONE_NUMBER_ID,
    display_phone_number: str = DISPLAY_PHONE_NUMBER,
) -> dict[str, Any]:
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": display_phone_number, "phone_number_id": phone_number_id},
    }
    if messages is not None:
        value["contacts"] = contacts if contacts is not None else [contact()]
        value["messages"] = messages
    if statuses is not None:
        value["statuses"] = statuses
    if errors is not None:
        value["errors"] = errors
    return {"value": value, "field": "messages"}


def contact(wa_id: str = USER_WA_ID, name: str = USER_NAME) -> dict[str, Any]:
    return {"profile": {"name": name}, "wa_id": wa_id}


def user_message(
    message_type: str,
    body: Any = None,
    *,
    wamid: str = WAMID,
    sender: str = USER_WA_ID,
    timestamp: str = SENT_AT_UNIX,
    **extra: Any,
) -> dict[str, Any]:
    message: dict[str, Any] = {"from": sender, "id": wamid, "timestamp": timestamp, "type": message_type}
    if body is not None:
        message[message_type] = body
    message.update(extra)
    return message


def status(
    state: str, *, wamid: str = OUR_WAMID, recipient_id: str = USER_WA_ID, timestamp: str = SENT_AT_UNIX
) -> dict[str, Any]:
    return {
        "id": wamid,
        "status": state,
        "timestamp": timestamp,
        "recipient_id": recipient_id,
        "conversation": {
            "id": "a75d17ad06104c51166f948319b03c6a",
            "expiration_timestamp": "1749502783",
            "origin": {"type": "service"},
        },
        "pricing": {
            "billable": True,
            "pricing_model": "PMP",
            "category": "service",
            "type": "free_customer_service",
        },
    }


def encode(body: Any) -> bytes:
    return msgspec.json.encode(body)


def body_with_messages(*messages: dict[str, Any], contacts: list[dict[str, Any]] | None = None) -> bytes:
    return encode(notification(entry(messages_change(messages=list(messages), contacts=contacts))))


def body_with_statuses(*statuses: dict[str, Any]) -> bytes:
    return encode(notification(entry(messages_change(statuses=list(statuses)))))


def body_with_changes(*changes: dict[str, Any]) -> bytes:
    return encode(notification(entry(*changes)))
