"""Send a WhatsApp message at most once per idempotency key, even when the actor is retried."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import msgspec
import psycopg

from zapq.db.outbound_messages import FAILED, SENT, claim_send, record_failed, record_sent
from zapq.whatsapp.client import WhatsAppClient
from zapq.whatsapp.errors import OUTSIDE_SERVICE_WINDOW, OutsideServiceWindow, PermanentSendError

logger = logging.getLogger(__name__)


class SendResult(msgspec.Struct, frozen=True, kw_only=True):
    """What the ledger holds for the key after `send_once`.

    `requested_now` is True only when this call made the request, False when an earlier call had
    already settled the key. `status` may be later than "sent" when webhooks already arrived.
    """

    status: str
    wamid: str | None = None
    error_code: int | None = None
    error_title: str | None = None
    requested_now: bool = False

    @property
    def failed(self) -> bool:
        return self.status == FAILED

    @property
    def outside_service_window(self) -> bool:
        """The customer's 24 h window was closed: a template is the only way to reach them."""
        return self.failed and self.error_code == OUTSIDE_SERVICE_WINDOW


def send_once(
    connection: psycopg.Connection,
    client: WhatsAppClient,
    idempotency_key: str,
    recipient: str,
    kind: str,
    build_and_send: Callable[[], str],
    *,
    body: Mapping[str, Any] | None = None,
) -> SendResult:
    """Call `build_and_send` (which sends and returns the wamid) unless this key was settled before.

    The key's row is claimed, the request made and its outcome recorded in one transaction, so
    a concurrent call with the same key (a redelivered message while the first worker still
    runs) waits on the row lock and then finds it sent. A key that was sent, or failed for good
    (`PermanentSendError`, `OutsideServiceWindow`: returned as a failed result, not raised), is
    never sent again. `RetryableSendError` and `AccessTokenInvalid` propagate and record
    nothing, so the retry sends.

    The remaining window: Meta accepted the message, but zapq never learnt it or never recorded
    it. That is a crash or lost database connection between the HTTP answer and the commit, or a
    timeout whose request did reach Meta. The row then rolls back (or stays unsent) and the retry
    sends a second copy. The Cloud API takes no idempotency key, so only shortening that window
    helps, not closing it.

    :param body: what is being sent, kept in the ledger for auditing.
    """
    with connection.transaction():
        claimed = claim_send(
            connection,
            idempotency_key,
            phone_number_id=client.phone_number_id,
            recipient=recipient,
            kind=kind,
            body=body,
        )
        if claimed.is_settled:
            return SendResult(
                status=claimed.status,
                wamid=claimed.wamid,
                error_code=claimed.error_code,
                error_title=claimed.error_title,
            )
        try:
            wamid = build_and_send()
        except (PermanentSendError, OutsideServiceWindow) as error:
            logger.warning("WhatsApp message %s to %s not sent: %s", idempotency_key, recipient, error)
            record_failed(connection, idempotency_key, error.code, error.title)
            return SendResult(
                status=FAILED, error_code=error.code, error_title=error.title, requested_now=True
            )
        record_sent(connection, idempotency_key, wamid)
    return SendResult(status=SENT, wamid=wamid, requested_now=True)
