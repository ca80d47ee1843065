"""`reengagement_sends` in PostgreSQL: claiming a send, recording its outcome, noting a reply.

The row's unique key (customer, campaign, subject) is what makes "never twice" hold across
scans, schedulers and workers; the outbound ledger's key (`outbound_key`) is what makes one
row's message go out once across retries and crashes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import psycopg
from psycopg.rows import class_row

from zapq.conversation.vehicle import Vehicle
from zapq.reengagement.campaigns import CampaignType, Candidate, SendStatus, quiet_subject
from zapq.reengagement.rules import Audience, Policy

#: A conversation is with a person while in human mode, or while a handoff is newer than its release.
OPEN_HANDOFF_SQL = (
    "(c.mode = 'human' OR EXISTS (SELECT 1 FROM handoffs h WHERE h.phone_number_id = c.phone_number_id"
    " AND h.wa_id = c.wa_id AND h.created_at > COALESCE(c.released_at, '-infinity'::timestamptz)))"
)
#: Campaign messages that count against the per-customer cap: sent, or on their way.
RECENT_SENDS_SQL = (
    "(SELECT count(*) FROM reengagement_sends s WHERE s.phone_number_id = c.phone_number_id"
    " AND s.wa_id = c.wa_id AND s.status IN ('sending', 'sent') AND s.created_at > %(since_cap)s)"
)
VEHICLE_COLUMNS = (
    "v.id, v.make, v.model, v.trim_level, v.year, v.price, v.colour, v.body_type, v.status,"
    " v.transmission, v.fuel, v.km, v.seats, v.description"
)


#: A customer's message this long after a campaign message counts as its conversion.
CONVERSION_WINDOW = dt.timedelta(hours=72)


@dataclass(frozen=True)
class Recipient:
    audience: Audience
    profile_name: str | None
    vehicle: Vehicle | None


@dataclass(frozen=True)
class ClaimedSend:
    id: int
    outbound_key: str
    status: SendStatus
    message_kind: str


def load_recipient(
    connection: psycopg.Connection, candidate: Candidate, now: dt.datetime, policy: Policy
) -> Recipient | None:
    """The customer and car as they are now; None when there is no such conversation."""
    row = connection.execute(
        "SELECT c.opted_out, " + OPEN_HANDOFF_SQL + ", c.last_inbound_at, c.profile_name,"
        f" {RECENT_SENDS_SQL},"
        " (SELECT s.status FROM reengagement_sends s WHERE s.phone_number_id = c.phone_number_id"
        "   AND s.wa_id = c.wa_id AND s.campaign_type = %(campaign)s AND s.subject = %(subject)s)"
        " FROM conversations c WHERE c.phone_number_id = %(pnid)s AND c.wa_id = %(wa_id)s",
        {
            "since_cap": now - policy.window,
            "campaign": candidate.campaign_type.value,
            "subject": candidate.subject,
            "pnid": candidate.phone_number_id,
            "wa_id": candidate.wa_id,
        },
    ).fetchone()
    if row is None:
        return None
    opted_out, human, last_inbound_at, profile_name, recent, existing = row
    vehicle = None
    if candidate.vehicle_id is not None:
        with connection.cursor(row_factory=class_row(Vehicle)) as cursor:
            vehicle = cursor.execute(
                f"SELECT {VEHICLE_COLUMNS} FROM vehicles v WHERE v.id = %s", (candidate.vehicle_id,)
            ).fetchone()
    if candidate.campaign_type == CampaignType.INACTIVE_48H:
        # Still the same quiet spell: they have not written since the scan saw it.
        relevant = last_inbound_at is not None and quiet_subject(int(last_inbound_at.timestamp())) == (
            candidate.subject
        )
    else:
        relevant = vehicle is not None and vehicle.status == "available"
    audience = Audience(
        opted_out=bool(opted_out),
        human_mode=bool(human),
        last_inbound_at=last_inbound_at,
        recent_sends=int(recent),
        existing=SendStatus(existing) if existing else None,
        still_relevant=relevant,
    )
    return Recipient(audience, profile_name, vehicle)


def claim_send(connection: psycopg.Connection, candidate: Candidate, message_kind: str) -> ClaimedSend:
    """The row for this (customer, campaign, subject): inserted now as `sending`, or the one there."""
    row = connection.execute(
        "INSERT INTO reengagement_sends (phone_number_id, wa_id, campaign_type, vehicle_id, subject,"
        " message_kind, outbound_key)"
        " VALUES (%(pnid)s, %(wa_id)s, %(campaign)s, %(vehicle_id)s, %(subject)s, %(kind)s,"
        "  'reengagement:' || %(pnid)s || '/' || %(wa_id)s || '/' || %(campaign)s || '/' || %(subject)s)"
        " ON CONFLICT (phone_number_id, wa_id, campaign_type, subject)"
        "  DO UPDATE SET status = reengagement_sends.status"  # a no-op that returns the row
        " RETURNING id, outbound_key, status, message_kind",
        {
            "pnid": candidate.phone_number_id,
            "wa_id": candidate.wa_id,
            "campaign": candidate.campaign_type.value,
            "vehicle_id": candidate.vehicle_id,
            "subject": candidate.subject,
            "kind": message_kind,
        },
    ).fetchone()
    assert row is not None, "INSERT ... ON CONFLICT DO UPDATE RETURNING always returns the row"
    return ClaimedSend(int(row[0]), str(row[1]), SendStatus(row[2]), str(row[3]))


def record_outcome(
    connection: psycopg.Connection,
    send_id: int,
    status: SendStatus,
    *,
    message_kind: str,
    wamid: str | None = None,
    error_code: int | None = None,
    error_title: str | None = None,
) -> None:
    connection.execute(
        "UPDATE reengagement_sends SET status = %s, message_kind = %s, wamid = %s, error_code = %s,"
        " error_title = %s, sent_at = CASE WHEN %s THEN now() ELSE sent_at END WHERE id = %s",
        (status.value, message_kind, wamid, error_code, error_title, status == SendStatus.SENT, send_id),
    )


def note_replies(
    connection: psycopg.Connection, phone_number_id: str, wa_id: str, message_times: Sequence[dt.datetime]
) -> list[CampaignType]:
    """Mark the campaign messages these customer messages answer (within 72 h); return their campaigns.

    Each send converts once: a redelivered burst finds `replied_at` set and counts nothing.
    Meta stamps messages to the second, so the send's own second counts as after it.
    """
    if not message_times:
        return []
    rows = connection.execute(
        "UPDATE reengagement_sends s SET replied_at = ("
        "   SELECT min(t) FROM unnest(%(times)s::timestamptz[]) t"
        "   WHERE t >= date_trunc('second', s.sent_at) AND t <= s.sent_at + %(window)s)"
        " WHERE s.phone_number_id = %(pnid)s AND s.wa_id = %(wa_id)s AND s.status = 'sent'"
        " AND s.replied_at IS NULL"
        " AND EXISTS (SELECT 1 FROM unnest(%(times)s::timestamptz[]) t"
        "   WHERE t >= date_trunc('second', s.sent_at) AND t <= s.sent_at + %(window)s)"
        " RETURNING s.campaign_type",
        {"times": list(message_times), "window": CONVERSION_WINDOW, "pnid": phone_number_id, "wa_id": wa_id},
    ).fetchall()
    return [CampaignType(row[0]) for row in rows]


def record_scan(
    connection: psycopg.Connection,
    trigger: str,
    campaigns: Sequence[CampaignType],
    enqueued: int,
    started_at: dt.datetime,
) -> None:
    connection.execute(
        "INSERT INTO reengagement_scans (trigger, campaigns, enqueued, started_at) VALUES (%s, %s, %s, %s)",
        (trigger, [campaign.value for campaign in campaigns], enqueued, started_at),
    )
