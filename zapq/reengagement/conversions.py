"""A customer who writes within 72 h of a campaign message is its conversion: on the row and in Prometheus."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import psycopg

from zapq import metrics
from zapq.reengagement.ledger import note_replies


def note_campaign_replies(
    connection: psycopg.Connection, phone_number_id: str, wa_id: str, message_times: Sequence[dt.datetime]
) -> None:
    """Called with every burst's messages as they are recorded; each send converts at most once."""
    for campaign in note_replies(connection, phone_number_id, wa_id, message_times):
        metrics.reengagement_conversions().labels(campaign.value).inc()
