"""The handoff notice a CRM receives: JSON signed like Meta signs its webhooks.

`X-Zapq-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`, keyed by
HANDOFF_WEBHOOK_SECRET, so the CRM can check it with the code it already has for
Meta's `X-Hub-Signature-256`. `handoff_id` lets it drop a repeated notice.
"""

from __future__ import annotations

import logging

import httpx
import msgspec

from zapq.conversation.store import HandoffRecord
from zapq.outages import CRM, DependencyUnavailable
from zapq.whatsapp.signature import ZAPQ_SIGNATURE_HEADER, sign

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = ZAPQ_SIGNATURE_HEADER


class CrmRejected(Exception):
    """The CRM refused the notice (4xx); Retries tries again, then dead-letters it for an operator."""


class CrmUnavailable(DependencyUnavailable):
    """The CRM did not answer, or answered 5xx or 429: the notice waits for it, however long."""

    dependency = CRM


def notify_crm(http: httpx.Client, url: str, secret: str, handoff: HandoffRecord) -> int:
    """POST the handoff; return the CRM's HTTP status, or raise CrmUnavailable or CrmRejected."""
    body = msgspec.json.encode(
        {
            "event": "human_handoff",
            "handoff_id": handoff.handoff_id,
            "phone_number_id": handoff.phone_number_id,
            "wa_id": handoff.wa_id,
            "reason": handoff.reason,
            "summary": handoff.summary,
            "created_at": handoff.created_at,
        }
    )
    headers = {"content-type": "application/json", "x-zapq-handoff-id": handoff.handoff_id}
    if secret:
        headers[SIGNATURE_HEADER] = sign(secret, body)
    else:
        logger.warning("HANDOFF_WEBHOOK_SECRET is unset: handoff %s goes unsigned", handoff.handoff_id)
    try:
        answer = http.post(url, content=body, headers=headers)
    except httpx.HTTPError as error:
        raise CrmUnavailable(f"handoff {handoff.handoff_id}: {type(error).__name__}: {error}") from error
    if answer.status_code >= 500 or answer.status_code == 429:
        raise CrmUnavailable(f"handoff {handoff.handoff_id}: CRM answered {answer.status_code}")
    if not answer.is_success:
        raise CrmRejected(f"handoff {handoff.handoff_id}: CRM answered {answer.status_code}")
    return answer.status_code
