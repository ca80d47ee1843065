"""Re-engagement campaigns: a scan (hourly, and when the stock changed) and one send per candidate.

`scan_reengagement` runs on low_priority. Two schedulers' ticks make one scan: FlowControl keys
every periodic message on (actor, cron minute of `scheduled_at`); an inventory-triggered scan
carries `trigger="inventory:<last inventory_changes id>"` and is de-duplicated (`dedup`) on it.

`send_reengagement` takes one candidate (`Candidate.to_wire()`): idempotent on (customer,
campaign, subject), throttled to one per customer and campaign per 24 h (flow control's
`throttle`, drop mode: the next scan proposes the rest again), and deferred by a
`dramatiq.Retry` to the end of the quiet hours, which gives the throttle slot back.
"""

from __future__ import annotations

import logging
import random
from datetime import UTC, datetime
from typing import Any

import dramatiq
from dramatiq.middleware import CurrentMessage

from middleware.errors import DuplicateMessage
from middleware.outage_retries import WAITED_FOR_OPTION
from schedules import REENGAGEMENT_SCAN
from zapq.queues import LOW_PRIORITY, PRIORITY
from zapq.reengagement.campaigns import INVENTORY_CAMPAIGNS, CampaignType, Candidate

logger = logging.getLogger(__name__)

DAY_MS = 24 * 3600 * 1000
SEND_RETRIES = 20
TOKEN_RETRY_DELAY_MS = 5 * 60 * 1000
#: How long an inventory-triggered scan keyed on one state of the stock is remembered.
INVENTORY_SCAN_DEDUP_MS = DAY_MS


class CampaignDeferred(dramatiq.Retry):
    """Quiet hours: the message runs again when they end. Not a failure, and never exhausted."""


class RetryCampaign(dramatiq.Retry):
    """The Cloud API asked to wait (rate limit, 5xx, an attempt in doubt, a revoked token)."""


def retry_when(retries: int, exception: BaseException) -> bool:
    return isinstance(exception, CampaignDeferred) or retries < SEND_RETRIES


def candidate_key(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """(customer, campaign, subject): the send's identity."""
    return _candidate(args, kwargs).idempotency_key


def customer_campaign_key(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """(customer, campaign): the throttle's key, one message per 24 h."""
    return _candidate(args, kwargs).throttle_key


def _candidate(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Candidate:
    import msgspec

    wire = kwargs.get("candidate", args[0] if args else None)
    return msgspec.convert(wire, Candidate)


@dramatiq.actor(queue_name=LOW_PRIORITY, priority=PRIORITY[LOW_PRIORITY], periodic=REENGAGEMENT_SCAN)
def scan_reengagement(campaigns: list[str] | None = None, trigger: str | None = None) -> None:
    """Enqueue one `send_reengagement` per candidate of `campaigns` (all three by default)."""
    # Worker-only code, imported here: the web imports this module only to send to the actors.
    from actors.services import campaign_matchers
    from zapq.db.connection import thread_connection
    from zapq.reengagement.ledger import record_scan
    from zapq.reengagement.rules import Policy
    from zapq.reengagement.scan import find_candidates
    from zapq.settings import get_settings

    started_at = datetime.now(UTC)
    message = CurrentMessage.get_current_message()
    scheduled_at = message.options.get("scheduled_at") if message else None
    trigger = trigger or (f"tick:{scheduled_at}" if scheduled_at else "manual")
    chosen = [CampaignType(name) for name in campaigns] if campaigns else list(CampaignType)
    settings = get_settings()
    policy = Policy.from_settings(settings)
    connection = thread_connection()
    quiet_until = policy.quiet_hours.ends_at(started_at)
    if quiet_until is not None:
        # Nothing could go out before then; the first scan after the quiet hours finds them all.
        candidates = []
        logger.info("re-engagement scan (%s): quiet hours until %s", trigger, quiet_until.isoformat())
    else:
        matchers = campaign_matchers(settings, connection) if CampaignType.NEW_CARS in chosen else None
        candidates = find_candidates(connection, chosen, started_at, policy, matchers)
    for candidate in candidates:
        send_reengagement.send(candidate.to_wire())
    record_scan(connection, trigger, chosen, len(candidates), started_at)
    logger.info("re-engagement scan (%s): %d candidate(s) enqueued", trigger, len(candidates))


@dramatiq.actor(
    queue_name=LOW_PRIORITY,
    priority=PRIORITY[LOW_PRIORITY],
    retry_when=retry_when,
    idempotency_key=candidate_key,
    throttle=customer_campaign_key,
    throttle_limit=1,
    throttle_period=DAY_MS,
)
def send_reengagement(candidate: dict[str, Any]) -> None:
    """Send one campaign message, once, if the rules allow it now; defer it past the quiet hours."""
    import msgspec

    from actors.services import campaign_services
    from zapq import metrics
    from zapq.reengagement.campaigns import Outcome
    from zapq.reengagement.sending import send_campaign
    from zapq.settings import get_settings
    from zapq.whatsapp.errors import AccessTokenInvalid, RetryableSendError

    current = CurrentMessage.get_current_message()
    after_outage = bool(current and current.options.get(WAITED_FOR_OPTION))
    wanted = msgspec.convert(candidate, Candidate)
    services = campaign_services(get_settings(), after_outage=after_outage)
    now = datetime.now(UTC)
    try:
        result = send_campaign(services, wanted, now)
    except AccessTokenInvalid as error:
        logger.critical("campaign %s waits: the WhatsApp access token was rejected", _described(wanted))
        raise RetryCampaign(str(error), delay=TOKEN_RETRY_DELAY_MS) from error
    except RetryableSendError as error:
        suggested = error.retry_after_s
        delay = None if suggested is None else int(suggested * 1000) + random.randint(0, 500)
        raise RetryCampaign(str(error), delay=delay) from error
    metrics.reengagement_sent().labels(wanted.campaign_type.value, result.outcome.value).inc()
    if result.outcome == Outcome.DEFERRED and result.defer_until is not None:
        delay_ms = max(0, int((result.defer_until - now).total_seconds() * 1000)) + random.randint(0, 1000)
        logger.info("campaign %s deferred to %s (quiet hours)", _described(wanted), result.defer_until)
        raise CampaignDeferred(f"quiet hours until {result.defer_until.isoformat()}", delay=delay_ms)
    logger.info("campaign %s: %s", _described(wanted), result.outcome.value)


def _described(candidate: Candidate) -> str:
    """Campaign and subject, without the customer's phone number (logs carry no wa_id)."""
    return f"{candidate.campaign_type.value} {candidate.subject}"


def request_inventory_scan(watermark: int) -> bool:
    """Scan for new cars and price drops now, once per state of the stock; False if already asked.

    Whatever changes the stock calls this after its commit (`make seed` does, through
    `python -m zapq.reengagement inventory-changed`), with `scan.inventory_watermark`.
    """
    try:
        scan_reengagement.send_with_options(
            kwargs={"campaigns": [c.value for c in INVENTORY_CAMPAIGNS], "trigger": f"inventory:{watermark}"},
            dedup=INVENTORY_SCAN_DEDUP_MS,
            dedup_key="trigger",
        )
    except DuplicateMessage:
        return False
    return True
