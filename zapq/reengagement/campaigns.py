"""The vocabulary of re-engagement: campaigns, outcomes, a candidate, and the Graph codes we record."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import msgspec


class CampaignType(StrEnum):
    INACTIVE_48H = "inactive_48h"
    NEW_CARS = "new_cars"
    PRICE_DROP = "price_drop"


#: The campaigns a change of stock can make due: what an inventory-triggered scan looks for.
INVENTORY_CAMPAIGNS = (CampaignType.NEW_CARS, CampaignType.PRICE_DROP)


class Outcome(StrEnum):
    """What one `send_reengagement` run did: the `outcome` label of `zapq_reengagement_sent_total`."""

    SENT = "sent"
    REFUSED = "refused"  # Meta declined it (131049 marketing limit, 131050, 131047, ...): recorded
    FAILED = "failed"  # another permanent error (a template Meta does not know, ...): recorded
    DEFERRED = "deferred_quiet_hours"
    ALREADY_SENT = "already_sent"
    OPTED_OUT = "skipped_opted_out"
    HUMAN_MODE = "skipped_human_mode"
    CAPPED = "skipped_customer_cap"
    NO_TEMPLATE = "skipped_no_template"
    NOT_ELIGIBLE = "skipped_not_eligible"  # the customer wrote since, the car was sold, ...
    DISABLED = "skipped_disabled"


class SendStatus(StrEnum):
    """`reengagement_sends.status`."""

    SENDING = "sending"
    SENT = "sent"
    REFUSED = "refused"
    FAILED = "failed"


MARKETING_LIMIT = 131049  # Meta holds back marketing templates to this user for engagement reasons
USER_STOPPED_MARKETING = 131050  # the user stopped marketing messages from this business
OUTSIDE_SERVICE_WINDOW = 131047
UNDELIVERABLE = 131026
#: Refusals of the message by Meta or the customer, as opposed to our mistakes: recorded as
#: `refused`, never retried (trying again the next hour is exactly what Meta penalises).
REFUSAL_CODES = frozenset({MARKETING_LIMIT, USER_STOPPED_MARKETING, OUTSIDE_SERVICE_WINDOW, UNDELIVERABLE})


class Candidate(msgspec.Struct, frozen=True, kw_only=True):
    """One (customer, campaign, subject) a scan found: the argument of `send_reengagement`.

    `subject` makes the send unique: the car's id, or for `inactive_48h` the quiet spell,
    named by the customer's last message (`quiet:<epoch seconds>`), so a lead who comes back
    and goes quiet again may hear from us again, once.
    """

    phone_number_id: str
    wa_id: str
    campaign_type: CampaignType
    subject: str
    vehicle_id: int | None = None

    @property
    def idempotency_key(self) -> str:
        return f"{self.phone_number_id}/{self.wa_id}/{self.campaign_type}/{self.subject}"

    @property
    def throttle_key(self) -> str:
        """One per customer and campaign per 24 h (the actor's throttle)."""
        return f"{self.phone_number_id}/{self.wa_id}/{self.campaign_type}"

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = msgspec.to_builtins(self)
        return wire


def quiet_subject(last_inbound_at_epoch_s: int) -> str:
    return f"quiet:{last_inbound_at_epoch_s}"


def vehicle_subject(vehicle_id: int) -> str:
    return f"vehicle:{vehicle_id}"
