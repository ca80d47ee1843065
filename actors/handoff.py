"""Tell the CRM that a conversation needs a person: a signed POST, retried with backoff."""

from __future__ import annotations

import logging

import dramatiq

from zapq.customer_ids import customer_tag
from zapq.queues import HIGH_PRIORITY, PRIORITY
from zapq.settings import get_settings

logger = logging.getLogger(__name__)

CRM_TIMEOUT_S = 10.0


@dramatiq.actor(
    queue_name=HIGH_PRIORITY,
    priority=PRIORITY[HIGH_PRIORITY],
    max_retries=3,
    idempotency_key="handoff_id",
)
def notify_human_handoff(handoff_id: str) -> None:
    """POST the handoff's summary to HANDOFF_WEBHOOK_URL; a failed POST raises, so Retries backs off."""
    # Worker-only code, imported here: the web imports this module only to send to the actor.
    from actors.services import http_client
    from zapq.conversation.crm import notify_crm
    from zapq.conversation.store import find_handoff, mark_handoff_notified
    from zapq.db.connection import thread_connection

    settings = get_settings()
    connection = thread_connection()
    handoff = find_handoff(connection, handoff_id)
    if handoff is None:
        logger.error("handoff %s not found; nothing to notify", handoff_id)
        return
    if handoff.notified_at is not None:
        return
    if not settings.handoff_webhook_url:
        logger.warning(
            "handoff %s of customer=%s: HANDOFF_WEBHOOK_URL is unset, CRM not told",
            handoff_id, customer_tag(handoff.wa_id),
        )  # fmt: skip
        return
    status = notify_crm(
        http_client(CRM_TIMEOUT_S), settings.handoff_webhook_url, settings.handoff_webhook_secret, handoff
    )
    mark_handoff_notified(connection, handoff_id, status)
