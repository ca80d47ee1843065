"""One campaign message: the rules re-checked under the conversation's lock, then sent once.

The lock is the one bursts take (`conversation_lock`), so a message never crosses a burst being
answered, and the per-customer cap (a count in PostgreSQL) is exact across workers. The send
goes through the outbound ledger (`send_once`, keyed by the row's `outbound_key`) and the
shared pacer. A refusal by Meta (131049 marketing limit, 131050, 131047, 131026) is recorded on
the row as `refused` and never retried; a retryable error propagates, so the actor retries
and finds its row `sending` (resumed, not claimed twice).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
import redis

from zapq.conversation.store import conversation_lock
from zapq.reengagement.campaigns import REFUSAL_CODES, Candidate, Outcome, SendStatus
from zapq.reengagement.ledger import ClaimedSend, Recipient, claim_send, load_recipient, record_outcome
from zapq.reengagement.messages import campaign_text, template_components
from zapq.reengagement.rules import TEMPLATE, Defer, Policy, Send, Skip, decide
from zapq.whatsapp.client import WhatsAppClient
from zapq.whatsapp.pacing import Pacer, paced
from zapq.whatsapp.sender import SendResult, send_once


@dataclass
class CampaignServices:
    connection: psycopg.Connection
    redis: redis.Redis
    client_for: Callable[[str], WhatsAppClient]  # business phone_number_id -> client
    pacer: Pacer
    policy: Policy
    after_outage: bool = False


@dataclass(frozen=True)
class CampaignResult:
    outcome: Outcome
    defer_until: dt.datetime | None = None  # set with Outcome.DEFERRED
    error_code: int | None = None


def send_campaign(services: CampaignServices, candidate: Candidate, now: dt.datetime) -> CampaignResult:
    """Send `candidate`'s message now, or say why not (a skip) or when (quiet hours)."""
    connection = services.connection
    with conversation_lock(connection, candidate.phone_number_id, candidate.wa_id):
        recipient = load_recipient(connection, candidate, now, services.policy)
        if recipient is None:
            return CampaignResult(Outcome.NOT_ELIGIBLE)
        decision = decide(services.policy, candidate.campaign_type, recipient.audience, now)
        if isinstance(decision, Skip):
            return CampaignResult(decision.outcome)
        if isinstance(decision, Defer):
            return CampaignResult(Outcome.DEFERRED, defer_until=decision.until)
        claimed = claim_send(connection, candidate, decision.message_kind)
        if claimed.status != SendStatus.SENDING:  # another run finished it between read and claim
            return CampaignResult(Outcome.ALREADY_SENT)
        return _send(services, candidate, recipient, claimed, decision)


def _send(
    services: CampaignServices,
    candidate: Candidate,
    recipient: Recipient,
    claimed: ClaimedSend,
    decision: Send,
) -> CampaignResult:
    client = services.client_for(candidate.phone_number_id)
    # A resumed row keeps the kind it was claimed with: its ledger key may already hold that send.
    kind = claimed.message_kind if decision.resumed else decision.message_kind
    result = _deliver(services, client, candidate, recipient, claimed.outbound_key, kind)
    has_template = bool(services.policy.templates.get(candidate.campaign_type))
    if result.outside_service_window and kind != TEMPLATE and has_template:
        kind = TEMPLATE  # the window closed between our read and Meta's: a template still may go
        result = _deliver(services, client, candidate, recipient, f"{claimed.outbound_key}:template", kind)
    if result.failed:
        status = SendStatus.REFUSED if result.error_code in REFUSAL_CODES else SendStatus.FAILED
    else:
        status = SendStatus.SENT
    record_outcome(
        services.connection, claimed.id, status, message_kind=kind, wamid=result.wamid,
        error_code=result.error_code, error_title=result.error_title,
    )  # fmt: skip
    outcome = {SendStatus.SENT: Outcome.SENT, SendStatus.REFUSED: Outcome.REFUSED}.get(status, Outcome.FAILED)
    return CampaignResult(outcome, error_code=result.error_code)


def _deliver(
    services: CampaignServices,
    client: WhatsAppClient,
    candidate: Candidate,
    recipient: Recipient,
    key: str,
    kind: str,
) -> SendResult:
    to = candidate.wa_id
    body: dict[str, Any]
    if kind == TEMPLATE:
        name = services.policy.templates[candidate.campaign_type]
        language = services.policy.template_language
        components = template_components(candidate.campaign_type, recipient.profile_name, recipient.vehicle)
        body = {"template": name, "language": language, "components": components}

        def send() -> str:
            return client.send_template(to, name, language, components)
    else:
        text = campaign_text(candidate.campaign_type, recipient.profile_name, recipient.vehicle)
        body = {"text": text}

        def send() -> str:
            return client.send_text(to, text)

    return send_once(
        services.connection, client, key, to, kind, _paced(services, client, to, send),
        body={"campaign": candidate.campaign_type.value, **body}, after_outage=services.after_outage,
    )  # fmt: skip


def _paced(
    services: CampaignServices, client: WhatsAppClient, recipient: str, send: Callable[[], str]
) -> Callable[[], str]:
    return paced(services.pacer, services.redis, client.phone_number_id, recipient, send)
