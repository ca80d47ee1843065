"""Each rule of a campaign message by name, decided at an injected instant."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from zapq.reengagement.campaigns import CampaignType, Outcome, SendStatus
from zapq.reengagement.quiet_hours import QuietHours
from zapq.reengagement.rules import TEMPLATE, TEXT, Audience, Defer, Policy, Send, Skip, decide

NOON = dt.datetime(2026, 12, 10, 15, 0, tzinfo=dt.UTC)  # 12:00 in São Paulo
POLICY = Policy(
    enabled=True,
    quiet_hours=QuietHours.parse("21:00-09:00", "America/Sao_Paulo"),
    max_per_customer=2,
    window=dt.timedelta(days=7),
    lookback=dt.timedelta(days=30),
    templates={CampaignType.INACTIVE_48H: "volte_sempre", CampaignType.NEW_CARS: "chegou_carro"},
)
QUIET_LEAD = Audience(
    opted_out=False, human_mode=False, last_inbound_at=NOON - dt.timedelta(hours=50), recent_sends=0
)
CHATTING_LEAD = replace(QUIET_LEAD, last_inbound_at=NOON - dt.timedelta(hours=2))


def test_outside_the_24h_window_only_the_campaigns_template_is_sent():
    assert decide(POLICY, CampaignType.INACTIVE_48H, QUIET_LEAD, NOON) == Send(TEMPLATE)


def test_inside_the_24h_window_a_free_form_text_is_sent():
    assert decide(POLICY, CampaignType.NEW_CARS, CHATTING_LEAD, NOON) == Send(TEXT)


def test_outside_the_window_a_campaign_without_template_sends_nothing():
    assert decide(POLICY, CampaignType.PRICE_DROP, QUIET_LEAD, NOON) == Skip(Outcome.NO_TEMPLATE)
    assert decide(POLICY, CampaignType.PRICE_DROP, CHATTING_LEAD, NOON) == Send(TEXT)


def test_opt_out_is_never_sent_to():
    assert decide(POLICY, CampaignType.NEW_CARS, replace(CHATTING_LEAD, opted_out=True), NOON) == Skip(
        Outcome.OPTED_OUT
    )


def test_human_mode_or_an_open_handoff_is_never_sent_to():
    audience = replace(CHATTING_LEAD, human_mode=True)
    assert decide(POLICY, CampaignType.NEW_CARS, audience, NOON) == Skip(Outcome.HUMAN_MODE)


def test_global_cap_counts_every_campaign_of_the_window():
    assert decide(POLICY, CampaignType.NEW_CARS, replace(CHATTING_LEAD, recent_sends=1), NOON) == Send(TEXT)
    assert decide(POLICY, CampaignType.NEW_CARS, replace(CHATTING_LEAD, recent_sends=2), NOON) == Skip(
        Outcome.CAPPED
    )


def test_quiet_hours_defer_to_their_end_instead_of_dropping():
    evening = dt.datetime(2026, 12, 11, 0, 30, tzinfo=dt.UTC)  # 21:30 in São Paulo
    decision = decide(POLICY, CampaignType.INACTIVE_48H, QUIET_LEAD, evening)
    assert decision == Defer(dt.datetime(2026, 12, 11, 12, 0, tzinfo=dt.UTC))  # 09:00 local


def test_the_same_customer_campaign_and_subject_is_never_sent_twice():
    for status in (SendStatus.SENT, SendStatus.REFUSED, SendStatus.FAILED):
        audience = replace(QUIET_LEAD, existing=status)
        assert decide(POLICY, CampaignType.INACTIVE_48H, audience, NOON) == Skip(Outcome.ALREADY_SENT)


def test_a_send_interrupted_by_a_crash_is_finished_not_capped():
    audience = replace(QUIET_LEAD, existing=SendStatus.SENDING, recent_sends=2)
    assert decide(POLICY, CampaignType.INACTIVE_48H, audience, NOON) == Send(TEMPLATE, resumed=True)


def test_a_customer_who_wrote_since_the_scan_or_a_car_sold_since_is_left_alone():
    audience = replace(QUIET_LEAD, still_relevant=False)
    assert decide(POLICY, CampaignType.INACTIVE_48H, audience, NOON) == Skip(Outcome.NOT_ELIGIBLE)


def test_the_kill_switch_stops_everything():
    assert decide(replace(POLICY, enabled=False), CampaignType.NEW_CARS, CHATTING_LEAD, NOON) == Skip(
        Outcome.DISABLED
    )
