"""Send a WhatsApp message at most once per idempotency key, even when the actor is retried."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import msgspec
import psycopg

from zapq.customer_ids import customer_tag
from zapq.db.outbound_messages import (
    FAILED,
    SENT,
    OutboundMessage,
    adopt_unmatched_send,
    claim_send,
    clear_attempt,
    note_doubt_seen,
    record_failed,
    record_sent,
    start_attempt,
)
from zapq.whatsapp.client import WhatsAppClient
from zapq.whatsapp.errors import (
    OUTSIDE_SERVICE_WINDOW,
    AccessTokenInvalid,
    OutsideServiceWindow,
    PermanentSendError,
    RetryableSendError,
    WhatsAppSendError,
)

logger = logging.getLogger(__name__)

# How long a retry waits for Meta's status webhook before deciding an unanswered attempt never
# arrived. Meta reports "sent" within seconds; waiting longer only delays a reply that was lost.
IN_DOUBT_WAIT_S = 60.0


class SendInDoubt(RetryableSendError):
    """An earlier attempt of this key may have reached Meta; retry once its status webhook had time."""

    def __init__(self, idempotency_key: str, retry_after_s: float) -> None:
        super().__init__(
            f"{idempotency_key}: an earlier attempt's outcome is unknown", retry_after_s=retry_after_s
        )


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
    in_doubt_wait_s: float = IN_DOUBT_WAIT_S,
    after_outage: bool = False,
) -> SendResult:
    """Call `build_and_send` (which sends and returns the wamid) unless this key was settled before.

    Each step commits on its own (`connection` is in autocommit): the pending row, then the
    attempt's start, then the request, then its outcome. A key that was sent, or failed for good
    (`PermanentSendError`, `OutsideServiceWindow`: returned as a failed result, not raised), is
    never sent again. `RetryableSendError` and `AccessTokenInvalid` propagate, so the retry sends.

    The hard case is an attempt whose outcome is unknown: its worker was killed during the
    request, or no answer came. Meta may have accepted the message, and the Cloud API takes no
    idempotency key. Meta then reports it in a status webhook, which `unmatched_statuses` keeps;
    the retry adopts that wamid instead of sending again. Until `in_doubt_wait_s` has passed
    since the attempt, the retry waits for that webhook (`SendInDoubt`, a retryable error);
    after it, no report means the request never arrived, and the message is sent.

    After a dependency outage (`after_outage`: this retry waited for PostgreSQL or Redis), that
    webhook may have reached zapq in time and still be waiting for PostgreSQL, behind the same
    outage: the wait then runs from when a retry first found the attempt unfinished, so the
    queued statuses land before anything is sent again.

    :param body: what is being sent, kept in the ledger for auditing.
    """
    claimed = claim_send(
        connection,
        idempotency_key,
        phone_number_id=client.phone_number_id,
        recipient=recipient,
        kind=kind,
        body=body,
    )
    customer = customer_tag(recipient)
    if claimed.is_settled:
        logger.info(
            "%s %s customer=%s: %s by an earlier attempt, not sent again (%s)",
            kind, claimed.wamid or "-", customer, claimed.status, idempotency_key,
        )  # fmt: skip
        return _settled(claimed)
    if claimed.attempted_at is not None:
        wamid = adopt_unmatched_send(
            connection,
            idempotency_key,
            phone_number_id=client.phone_number_id,
            recipient=recipient,
            since=claimed.attempted_at,
        )
        if wamid is not None:
            logger.warning(
                "sent %s %s customer=%s: adopted, reported by Meta after an unfinished attempt (%s)",
                kind, wamid, customer, idempotency_key,
            )  # fmt: skip
            return SendResult(status=SENT, wamid=wamid)
        since = claimed.attempted_at
        if after_outage or claimed.doubt_seen_at is not None:
            since = claimed.doubt_seen_at or note_doubt_seen(connection, idempotency_key)
        waited = (datetime.now(UTC) - since).total_seconds()
        if waited < in_doubt_wait_s:
            raise SendInDoubt(idempotency_key, in_doubt_wait_s - waited)
        logger.warning("%s: no sign of the unfinished attempt after %.0f s; sending", idempotency_key, waited)
    if not start_attempt(connection, idempotency_key, claimed.attempted_at):
        raise SendInDoubt(idempotency_key, in_doubt_wait_s)  # another caller is sending it right now
    try:
        wamid = build_and_send()
    except (PermanentSendError, OutsideServiceWindow) as error:
        _log_failure(client, idempotency_key, kind, customer, error, "not retried")
        record_failed(connection, idempotency_key, error.code, error.title)
        return SendResult(status=FAILED, error_code=error.code, error_title=error.title, requested_now=True)
    except WhatsAppSendError as error:
        _log_failure(client, idempotency_key, kind, customer, error, "retried later")
        if error.http_status is not None or isinstance(error, AccessTokenInvalid):
            clear_attempt(connection, idempotency_key)  # Meta answered: nothing was sent
        raise
    except ValueError:
        clear_attempt(connection, idempotency_key)  # refused before any request left
        raise
    record_sent(connection, idempotency_key, wamid)
    logger.info("sent %s %s customer=%s (%s)", kind, wamid, customer, idempotency_key)
    return SendResult(status=SENT, wamid=wamid, requested_now=True)


def _log_failure(
    client: WhatsAppClient,
    idempotency_key: str,
    kind: str,
    customer: str,
    error: WhatsAppSendError,
    then: str,
) -> None:
    """The failed send's line: where it went and Graph's error code, what Meta branches on."""
    logger.warning(
        "send failed: %s customer=%s url=%s code=%s http=%s, %s (%s): %s",
        kind, customer, client.messages_url, error.code if error.code is not None else "-",
        error.http_status if error.http_status is not None else "-", then, idempotency_key,
        "; ".join(part for part in (error.title, error.details) if part),
    )  # fmt: skip


def _settled(row: OutboundMessage) -> SendResult:
    return SendResult(
        status=row.status, wamid=row.wamid, error_code=row.error_code, error_title=row.error_title
    )
