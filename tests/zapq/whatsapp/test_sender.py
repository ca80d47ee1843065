"""send_once: a retried actor never sends the customer the same message twice."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

from tests.support.graph_api import CUSTOMER, accepted, graph_error
from tests.support.http_peer import HttpPeer
from zapq.db.outbound_messages import apply_status, find_outbound, keep_unmatched_status
from zapq.settings import Settings
from zapq.whatsapp.client import WhatsAppClient
from zapq.whatsapp.errors import RetryableSendError
from zapq.whatsapp.sender import SendInDoubt, SendResult, send_once

KEY = "lead-7:reply-3"


@pytest.fixture
def whatsapp(http_peer: HttpPeer) -> Iterator[WhatsAppClient]:
    with WhatsAppClient(f"{http_peer.url}/v21.0", "test-token", "106540352242922", timeout_s=5) as client:
        yield client


def send_greeting(db: psycopg.Connection, client: WhatsAppClient, key: str = KEY) -> SendResult:
    text = "Oi Ana! O Onix 2022 ainda está disponível."
    return send_once(
        db, client, key, CUSTOMER, "text", lambda: client.send_text(CUSTOMER, text), body={"text": text}
    )


def test_the_first_call_sends_and_records_the_wamid(
    db: psycopg.Connection, whatsapp: WhatsAppClient, http_peer: HttpPeer
) -> None:
    http_peer.enqueue(accepted("wamid.first"))

    result = send_greeting(db, whatsapp)

    assert result == SendResult(status="sent", wamid="wamid.first", requested_now=True)
    row = find_outbound(db, KEY)
    assert row is not None
    assert (row.status, row.wamid, row.recipient, row.phone_number_id) == (
        "sent",
        "wamid.first",
        CUSTOMER,
        "106540352242922",
    )


def test_a_retry_after_a_successful_send_does_not_send_again(
    db: psycopg.Connection, whatsapp: WhatsAppClient, http_peer: HttpPeer
) -> None:
    http_peer.enqueue(accepted("wamid.first"), accepted("wamid.duplicate"))
    send_greeting(db, whatsapp)

    retried = send_greeting(db, whatsapp)

    assert retried == SendResult(status="sent", wamid="wamid.first", requested_now=False)
    assert len(http_peer.received("/messages")) == 1


def test_a_retry_reports_the_latest_status_from_webhooks(
    db: psycopg.Connection, whatsapp: WhatsAppClient, http_peer: HttpPeer
) -> None:
    http_peer.enqueue(accepted("wamid.first"))
    send_greeting(db, whatsapp)
    apply_status(db, "wamid.first", "read", datetime.now(UTC))

    retried = send_greeting(db, whatsapp)

    assert (retried.status, retried.requested_now) == ("read", False)
    assert len(http_peer.requests) == 1


def test_a_permanent_failure_is_recorded_and_not_retried(
    db: psycopg.Connection, whatsapp: WhatsAppClient, http_peer: HttpPeer
) -> None:
    http_peer.enqueue(graph_error(131026, "Message undeliverable"))

    first = send_greeting(db, whatsapp)
    second = send_greeting(db, whatsapp)

    assert (first.failed, first.error_code, first.requested_now) == (True, 131026, True)
    assert (second.failed, second.error_code, second.requested_now) == (True, 131026, False)
    assert len(http_peer.requests) == 1


def test_outside_the_service_window_says_a_template_is_needed(
    db: psycopg.Connection, whatsapp: WhatsAppClient, http_peer: HttpPeer
) -> None:
    http_peer.enqueue(graph_error(131047, "Re-engagement message"))

    result = send_greeting(db, whatsapp)

    assert result.outside_service_window
    row = find_outbound(db, KEY)
    assert row is not None
    assert (row.status, row.error_code) == ("failed", 131047)


def test_a_retryable_failure_records_nothing_so_the_retry_sends(
    db: psycopg.Connection, whatsapp: WhatsAppClient, http_peer: HttpPeer
) -> None:
    http_peer.enqueue(graph_error(130429, "Rate limit hit"), accepted("wamid.after-retry"))

    with pytest.raises(RetryableSendError):
        send_greeting(db, whatsapp)
    row = find_outbound(db, KEY)
    assert row is not None and row.status == "pending" and row.attempted_at is None  # Meta said no

    result = send_greeting(db, whatsapp)

    assert result == SendResult(status="sent", wamid="wamid.after-retry", requested_now=True)
    assert len(http_peer.requests) == 2


def test_two_workers_sending_the_same_key_at_once_send_it_once(
    settings: Settings, whatsapp: WhatsAppClient, http_peer: HttpPeer
) -> None:
    http_peer.enqueue(accepted("wamid.only", delay_s=0.3), accepted("wamid.duplicate", delay_s=0.3))
    results: list[Any] = [None, None]

    def worker(index: int) -> None:
        with psycopg.connect(settings.database_url, autocommit=True) as connection:
            try:
                results[index] = send_greeting(connection, whatsapp)
            except SendInDoubt:  # the other one's request is on its way: retried later, as Retries would
                time.sleep(0.6)
                results[index] = send_greeting(connection, whatsapp)

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert len(http_peer.requests) == 1
    assert {result.wamid for result in results} == {"wamid.only"}
    assert sorted(result.requested_now for result in results) == [False, True]


def test_different_keys_are_different_messages(
    db: psycopg.Connection, whatsapp: WhatsAppClient, http_peer: HttpPeer
) -> None:
    http_peer.enqueue(accepted("wamid.part-1"), accepted("wamid.part-2"))

    first = send_greeting(db, whatsapp, key="lead-7:reply-3:part-1")
    second = send_greeting(db, whatsapp, key="lead-7:reply-3:part-2")

    assert (first.wamid, second.wamid) == ("wamid.part-1", "wamid.part-2")


def test_an_unanswered_attempt_adopts_the_wamid_meta_reports_instead_of_sending_again(
    db: psycopg.Connection, whatsapp: WhatsAppClient, http_peer: HttpPeer
) -> None:
    whatsapp.timeout_s = 0.3
    http_peer.enqueue(accepted("wamid.reached-meta", delay_s=1.0))  # accepted, but the answer is lost
    with pytest.raises(RetryableSendError):
        send_greeting(db, whatsapp)
    with pytest.raises(SendInDoubt):  # too early to tell whether it arrived
        send_greeting(db, whatsapp)

    keep_unmatched_status(
        db, wamid="wamid.reached-meta", phone_number_id=whatsapp.phone_number_id, recipient_id=CUSTOMER,
        status="delivered", at=datetime.now(UTC),
    )  # fmt: skip
    result = send_greeting(db, whatsapp)

    assert (result.status, result.wamid) == ("sent", "wamid.reached-meta")
    assert len(http_peer.requests) == 1
    row = find_outbound(db, KEY)
    assert row is not None and row.status == "delivered"  # the webhook's status came with it


def test_an_unanswered_attempt_nobody_reported_is_sent_after_the_wait(
    db: psycopg.Connection, whatsapp: WhatsAppClient, http_peer: HttpPeer
) -> None:
    whatsapp.timeout_s = 0.3
    http_peer.enqueue(accepted("wamid.lost", delay_s=1.0), accepted("wamid.second"))
    with pytest.raises(RetryableSendError):
        send_greeting(db, whatsapp)
    time.sleep(0.5)

    text = "Oi Ana!"
    result = send_once(
        db, whatsapp, KEY, CUSTOMER, "text", lambda: whatsapp.send_text(CUSTOMER, text), in_doubt_wait_s=0.4
    )

    assert (result.status, result.wamid) == ("sent", "wamid.second")


def test_after_an_outage_the_wait_for_the_status_runs_from_the_first_retry_not_from_the_attempt(
    db: psycopg.Connection, whatsapp: WhatsAppClient, http_peer: HttpPeer
) -> None:
    whatsapp.timeout_s = 0.3
    http_peer.enqueue(accepted("wamid.reached-meta", delay_s=1.0))
    with pytest.raises(RetryableSendError):
        send_greeting(db, whatsapp)
    # PostgreSQL was down for five minutes: Meta's "sent" is queued, not yet recorded.
    db.execute("UPDATE outbound_messages SET attempted_at = attempted_at - interval '5 minutes'")

    def retry(after_outage: bool) -> SendResult:
        return send_once(
            db, whatsapp, KEY, CUSTOMER, "text", lambda: whatsapp.send_text(CUSTOMER, "Oi Ana!"),
            in_doubt_wait_s=60, after_outage=after_outage,
        )  # fmt: skip

    with pytest.raises(SendInDoubt):
        retry(after_outage=True)  # the first retry back from the outage starts the wait
    with pytest.raises(SendInDoubt):
        retry(after_outage=False)  # and later retries keep to it
    keep_unmatched_status(
        db, wamid="wamid.reached-meta", phone_number_id=whatsapp.phone_number_id, recipient_id=CUSTOMER,
        status="sent", at=datetime.now(UTC),
    )  # fmt: skip
    result = retry(after_outage=False)

    assert (result.status, result.wamid) == ("sent", "wamid.reached-meta")
    assert len(http_peer.requests) == 1


def test_a_status_that_beats_the_send_record_is_applied_when_it_lands(
    db: psycopg.Connection, whatsapp: WhatsAppClient, http_peer: HttpPeer
) -> None:
    def send_and_see_webhook_first() -> str:
        wamid = whatsapp.send_text(CUSTOMER, "Oi!")
        keep_unmatched_status(
            db, wamid=wamid, phone_number_id=whatsapp.phone_number_id, recipient_id=CUSTOMER,
            status="read", at=datetime.now(UTC),
        )  # fmt: skip
        return wamid

    http_peer.enqueue(accepted("wamid.fast"))
    send_once(db, whatsapp, KEY, CUSTOMER, "text", send_and_see_webhook_first)

    row = find_outbound(db, KEY)
    assert row is not None and (row.wamid, row.status) == ("wamid.fast", "read")
    assert db.execute("SELECT count(*) FROM unmatched_statuses").fetchone()[0] == 0
