"""Who qualifies for which campaign now: PostgreSQL reads, then pure assembly with an injected clock.

Scans are stateless: each one looks at the last `REENGAGEMENT_LOOKBACK_DAYS` and proposes every
(customer, campaign, subject) not already claimed in `reengagement_sends`. Running one twice
proposes the same candidates, and the send path (unique row, idempotency key) sends each once.

- `inactive_48h`: the customer's last message (`conversations.last_inbound_at`) is 48 h old or
  more, and our last answer (`conversation_turns.replied_at`) came at or after it: we had the last
  word and they went quiet. The subject is that last message's time, so one message per quiet spell.
- `new_cars`: a car that became available (`inventory_changes`, kind `arrived`) after the
  customer asked for one like it (`matching.CriteriaMatcher`, and with embeddings
  `semantic_matching.SemanticMatcher`, or any other `InterestMatcher`), and that was not
  already shown to them. A car two matchers pick is one candidate.
- `price_drop`: a car shown to them (`facts["shown"]` in the engine's state, ids as the rules
  engine writes them) or booked for a test drive, still for sale, cheaper now than it was when
  they last wrote (`inventory_changes`, kind `price`).

Every candidate must pass `rules.may_reach` (not opted out, not with a person, under the cap, a
way to write to them); the send re-checks all of it under the conversation's lock.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.rows import class_row

from zapq.conversation.vehicle import Vehicle
from zapq.reengagement.campaigns import CampaignType, Candidate, quiet_subject, vehicle_subject
from zapq.reengagement.ledger import OPEN_HANDOFF_SQL, RECENT_SENDS_SQL, VEHICLE_COLUMNS
from zapq.reengagement.matching import (
    Arrival,
    CriteriaMatcher,
    InterestMatcher,
    Lead,
    LeadMessage,
    PriceChange,
    dropped_since,
)
from zapq.reengagement.rules import Audience, Policy, may_reach

QUIET_AFTER = dt.timedelta(hours=48)


def find_candidates(
    connection: psycopg.Connection,
    campaigns: Sequence[CampaignType],
    now: dt.datetime,
    policy: Policy,
    matchers: Sequence[InterestMatcher] | None = None,
) -> list[Candidate]:
    """Every candidate of `campaigns` at `now`; `matchers` default to the criteria matcher."""
    if not policy.enabled or not campaigns:
        return []
    leads = load_leads(connection, now, policy, with_messages=CampaignType.NEW_CARS in campaigns)
    found: list[Candidate] = []
    if CampaignType.INACTIVE_48H in campaigns:
        found += inactive_candidates(leads, now, policy)
    if CampaignType.NEW_CARS in campaigns:
        arrivals = load_arrivals(connection, now, policy)
        if matchers is None:
            matchers = [CriteriaMatcher(tuple(load_known_models(connection)))]
        found += new_car_candidates(leads, arrivals, matchers, now, policy)
    if CampaignType.PRICE_DROP in campaigns:
        asked = {vehicle_id for lead in leads for vehicle_id in lead.asked_vehicle_ids}
        vehicles, changes = load_price_history(connection, asked, now, policy)
        found += price_drop_candidates(leads, vehicles, changes, now, policy)
    return found


def _audience(lead: Lead) -> Audience:
    # Opted-out and human-mode conversations were left out by the query.
    return Audience(
        opted_out=False,
        human_mode=False,
        last_inbound_at=lead.last_inbound_at,
        recent_sends=lead.recent_sends,
    )


def _candidate(lead: Lead, campaign: CampaignType, subject: str, vehicle_id: int | None) -> Candidate:
    return Candidate(
        phone_number_id=lead.phone_number_id, wa_id=lead.wa_id, campaign_type=campaign,
        subject=subject, vehicle_id=vehicle_id,
    )  # fmt: skip


def inactive_candidates(leads: Iterable[Lead], now: dt.datetime, policy: Policy) -> list[Candidate]:
    campaign = CampaignType.INACTIVE_48H
    found = []
    for lead in leads:
        went_quiet = now - lead.last_inbound_at >= QUIET_AFTER
        we_answered = lead.last_reply_at is not None and lead.last_reply_at >= lead.last_inbound_at
        subject = quiet_subject(int(lead.last_inbound_at.timestamp()))
        if (
            went_quiet
            and we_answered
            and (campaign, subject) not in lead.sent_subjects
            and may_reach(policy, campaign, _audience(lead), now)
        ):
            found.append(_candidate(lead, campaign, subject, None))
    return found


def new_car_candidates(
    leads: Iterable[Lead],
    arrivals: Sequence[Arrival],
    matchers: Sequence[InterestMatcher],
    now: dt.datetime,
    policy: Policy,
) -> list[Candidate]:
    campaign = CampaignType.NEW_CARS
    found = []
    for lead in leads:
        if not arrivals or not may_reach(policy, campaign, _audience(lead), now):
            continue
        offered: dict[int, None] = {}
        for matcher in matchers:
            offered.update((arrival.vehicle.id, None) for arrival in matcher.matching(lead, arrivals))
        for vehicle_id in offered:
            subject = vehicle_subject(vehicle_id)
            if (campaign, subject) not in lead.sent_subjects:
                found.append(_candidate(lead, campaign, subject, vehicle_id))
    return found


def price_drop_candidates(
    leads: Iterable[Lead],
    vehicles: dict[int, Vehicle],
    changes: dict[int, list[PriceChange]],
    now: dt.datetime,
    policy: Policy,
) -> list[Candidate]:
    campaign = CampaignType.PRICE_DROP
    found = []
    for lead in leads:
        if not may_reach(policy, campaign, _audience(lead), now):
            continue
        for vehicle_id in sorted(lead.asked_vehicle_ids):
            vehicle = vehicles.get(vehicle_id)
            subject = vehicle_subject(vehicle_id)
            if vehicle is None or (campaign, subject) in lead.sent_subjects:
                continue
            if dropped_since(vehicle.price, changes.get(vehicle_id, []), lead.last_inbound_at) is not None:
                found.append(_candidate(lead, campaign, subject, vehicle_id))
    return found


def shown_ids(engine_state: Any) -> set[int]:
    """The car ids of the rules engine's `facts["shown"]` ("12,7,31"); anything else yields none."""
    facts = engine_state.get("facts") if isinstance(engine_state, dict) else None
    shown = facts.get("shown") if isinstance(facts, dict) else None
    if not isinstance(shown, str):
        return set()
    return {int(part) for part in shown.split(",") if part.strip().isdigit()}


def load_leads(
    connection: psycopg.Connection, now: dt.datetime, policy: Policy, *, with_messages: bool
) -> list[Lead]:
    """Conversations active within the lookback, not opted out, not with a person."""
    params = {"since": now - policy.lookback, "since_cap": now - policy.window, "now": now}
    rows = connection.execute(
        "SELECT c.phone_number_id, c.wa_id, c.profile_name, c.last_inbound_at, c.engine_state,"
        " (SELECT max(t.replied_at) FROM conversation_turns t"
        "   WHERE t.phone_number_id = c.phone_number_id AND t.wa_id = c.wa_id),"
        f" {RECENT_SENDS_SQL},"
        " ARRAY(SELECT s.campaign_type || ' ' || s.subject FROM reengagement_sends s"
        "   WHERE s.phone_number_id = c.phone_number_id AND s.wa_id = c.wa_id),"
        " ARRAY(SELECT d.vehicle_id FROM test_drives d WHERE d.wa_id = c.wa_id AND d.vehicle_id IS NOT NULL)"
        " FROM conversations c"
        " WHERE c.last_inbound_at >= %(since)s AND c.last_inbound_at <= %(now)s AND NOT c.opted_out"
        f" AND NOT {OPEN_HANDOFF_SQL}"
        " ORDER BY c.last_inbound_at",
        params,
    ).fetchall()
    messages: dict[tuple[str, str], list[LeadMessage]] = defaultdict(list)
    if with_messages and rows:
        for phone_number_id, wa_id, text, sent_at in connection.execute(
            "SELECT phone_number_id, wa_id, text, sent_at FROM inbound_messages"
            " WHERE sent_at >= %(since)s AND sent_at <= %(now)s AND text IS NOT NULL AND NOT stale"
            " ORDER BY sent_at",
            params,
        ):
            messages[(phone_number_id, wa_id)].append(LeadMessage(text, sent_at))
    leads = []
    for pnid, wa_id, name, last_inbound_at, state, last_reply_at, recent, sent, booked in rows:
        subjects = frozenset(
            (CampaignType(kind), subject) for kind, _, subject in (item.partition(" ") for item in sent)
        )
        leads.append(
            Lead(
                phone_number_id=pnid, wa_id=wa_id, profile_name=name, last_inbound_at=last_inbound_at,
                last_reply_at=last_reply_at, recent_sends=int(recent),
                messages=tuple(messages.get((pnid, wa_id), ())),
                asked_vehicle_ids=frozenset(shown_ids(state) | set(booked)), sent_subjects=subjects,
            )
        )  # fmt: skip
    return leads


def load_arrivals(connection: psycopg.Connection, now: dt.datetime, policy: Policy) -> list[Arrival]:
    """Cars that became available within the lookback and are still for sale."""
    with connection.cursor() as cursor:
        rows = cursor.execute(
            f"SELECT {VEHICLE_COLUMNS}, max(ch.changed_at) FROM inventory_changes ch"
            " JOIN vehicles v ON v.id = ch.vehicle_id"
            " WHERE ch.kind = 'arrived' AND ch.changed_at >= %s AND ch.changed_at <= %s"
            " AND v.status = 'available' GROUP BY v.id ORDER BY v.id",
            (now - policy.lookback, now),
        ).fetchall()
    return [Arrival(Vehicle(*row[:-1]), row[-1]) for row in rows]


def load_known_models(connection: psycopg.Connection) -> list[tuple[str, str]]:
    return [(make, model) for make, model in connection.execute("SELECT DISTINCT make, model FROM vehicles")]


def load_price_history(
    connection: psycopg.Connection, vehicle_ids: set[int], now: dt.datetime, policy: Policy
) -> tuple[dict[int, Vehicle], dict[int, list[PriceChange]]]:
    """The cars still for sale among `vehicle_ids`, and their price changes within the lookback."""
    if not vehicle_ids:
        return {}, {}
    ids = sorted(vehicle_ids)
    with connection.cursor(row_factory=class_row(Vehicle)) as cursor:
        vehicles = cursor.execute(
            f"SELECT {VEHICLE_COLUMNS} FROM vehicles v WHERE v.id = ANY(%s) AND v.status = 'available'",
            (ids,),
        ).fetchall()
    changes: dict[int, list[PriceChange]] = defaultdict(list)
    for vehicle_id, old_price, new_price, changed_at in connection.execute(
        "SELECT vehicle_id, old_price, new_price, changed_at FROM inventory_changes"
        " WHERE kind = 'price' AND vehicle_id = ANY(%s) AND changed_at >= %s AND changed_at <= %s",
        (ids, now - policy.lookback, now),
    ):
        changes[vehicle_id].append(PriceChange(Decimal(old_price), Decimal(new_price), changed_at))
    return {vehicle.id: vehicle for vehicle in vehicles}, dict(changes)


def inventory_watermark(connection: psycopg.Connection) -> int:
    """The last change to the stock: an inventory-triggered scan is keyed (de-duplicated) on it."""
    row = connection.execute("SELECT coalesce(max(id), 0) FROM inventory_changes").fetchone()
    return int(row[0]) if row else 0
