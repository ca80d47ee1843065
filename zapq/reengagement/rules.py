"""The rules every campaign message obeys, as one pure function of what is known and the time.

`decide` is called under the conversation's lock just before a send, with `Audience` read from
PostgreSQL at that moment; scans apply the same rules early (`may_reach`) so they do not enqueue
what would be skipped.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from zapq.reengagement.campaigns import CampaignType, Outcome, SendStatus
from zapq.reengagement.quiet_hours import QuietHours
from zapq.settings import Settings

SERVICE_WINDOW = dt.timedelta(hours=24)
TEXT = "text"
TEMPLATE = "template"


@dataclass(frozen=True)
class Policy:
    """The operator's choices (REENGAGEMENT_*), read once from settings."""

    enabled: bool
    quiet_hours: QuietHours
    max_per_customer: int
    window: dt.timedelta
    lookback: dt.timedelta
    templates: dict[CampaignType, str] = field(default_factory=dict)
    template_language: str = "pt_BR"

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        return cls(
            enabled=settings.reengagement_enabled,
            quiet_hours=QuietHours.parse(settings.reengagement_quiet_hours, settings.reengagement_timezone),
            max_per_customer=settings.reengagement_max_per_customer,
            window=dt.timedelta(days=settings.reengagement_window_days),
            lookback=dt.timedelta(days=settings.reengagement_lookback_days),
            templates={
                CampaignType.INACTIVE_48H: settings.reengagement_template_inactive_48h,
                CampaignType.NEW_CARS: settings.reengagement_template_new_cars,
                CampaignType.PRICE_DROP: settings.reengagement_template_price_drop,
            },
            template_language=settings.reengagement_template_language,
        )


@dataclass(frozen=True)
class Audience:
    """The customer as PostgreSQL sees them when the message is about to go."""

    opted_out: bool
    human_mode: bool  # the conversation is with a person, or a handoff was not released yet
    last_inbound_at: dt.datetime | None
    recent_sends: int  # campaign messages (sent or being sent) within the policy's window
    existing: SendStatus | None = None  # this very (customer, campaign, subject) already claimed
    still_relevant: bool = True  # no message since the quiet spell; the car is still for sale


@dataclass(frozen=True)
class Send:
    message_kind: str  # TEXT inside the 24 h window, else TEMPLATE
    resumed: bool = False  # a claimed row whose send did not finish (a crash): finish it


@dataclass(frozen=True)
class Defer:
    until: dt.datetime


@dataclass(frozen=True)
class Skip:
    outcome: Outcome


Decision = Send | Defer | Skip


def inside_service_window(last_inbound_at: dt.datetime | None, now: dt.datetime) -> bool:
    return last_inbound_at is not None and now - last_inbound_at < SERVICE_WINDOW


def message_kind(policy: Policy, campaign: CampaignType, audience: Audience, now: dt.datetime) -> str | None:
    """Free text inside the 24 h window; outside it the campaign's template, or None if it has none."""
    if inside_service_window(audience.last_inbound_at, now):
        return TEXT
    return TEMPLATE if policy.templates.get(campaign) else None


def decide(policy: Policy, campaign: CampaignType, audience: Audience, now: dt.datetime) -> Decision:
    """Whether to send now, later (quiet hours) or not at all, and as what."""
    resumed = audience.existing == SendStatus.SENDING
    if audience.existing is not None and not resumed:
        return Skip(Outcome.ALREADY_SENT)
    if not policy.enabled:
        return Skip(Outcome.DISABLED)
    if audience.opted_out:
        return Skip(Outcome.OPTED_OUT)
    if audience.human_mode:
        return Skip(Outcome.HUMAN_MODE)
    if not audience.still_relevant and not resumed:
        return Skip(Outcome.NOT_ELIGIBLE)
    if not resumed and audience.recent_sends >= policy.max_per_customer:
        return Skip(Outcome.CAPPED)
    quiet_until = policy.quiet_hours.ends_at(now)
    if quiet_until is not None:
        return Defer(quiet_until)
    kind = message_kind(policy, campaign, audience, now)
    if kind is None:
        return Skip(Outcome.NO_TEMPLATE)
    return Send(kind, resumed=resumed)


def may_reach(policy: Policy, campaign: CampaignType, audience: Audience, now: dt.datetime) -> bool:
    """What a scan asks: would `decide` send this now, or after the quiet hours?"""
    return isinstance(decide(policy, campaign, audience, now), Send | Defer)
