"""CloudApiStandIn counts replies (not read receipts), fails or hangs on demand, and reports like Meta."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.support.cloud_api_standin import CloudApiStandIn, HungStatuses, Mode
from tests.support.http_peer import HttpPeer
from zapq.whatsapp.signature import verify_signature

pytestmark = pytest.mark.processes

SECRET = "standin-secret"
PHONE_NUMBER_ID = "106540352242922"
SEND_LATENCY_S = 1.0  # a slow Cloud API: far above a loaded machine's own delays


@pytest.fixture
def webhook_receiver() -> Iterator[HttpPeer]:
    peer = HttpPeer().start()
    yield peer
    peer.stop()


@pytest.fixture
def cloud_api(webhook_receiver: HttpPeer) -> Iterator[CloudApiStandIn]:
    standin = CloudApiStandIn(SECRET, status_delay_s=0.0, hang_s=1.0, hung_statuses=HungStatuses.ALTERNATE)
    standin.start().post_statuses_to(f"{webhook_receiver.url}/webhook/whatsapp")
    yield standin
    standin.stop()


def send(cloud_api: CloudApiStandIn, payload: dict[str, object], timeout: float = 5.0) -> httpx.Response:
    return httpx.post(f"{cloud_api.url}/{PHONE_NUMBER_ID}/messages", json=payload, timeout=timeout)


def text_to(recipient: str) -> dict[str, object]:
    return {"messaging_product": "whatsapp", "to": recipient, "type": "text", "text": {"body": "olá"}}


def test_a_send_is_a_reply_with_a_signed_sent_status_and_a_read_receipt_is_not(
    cloud_api: CloudApiStandIn, webhook_receiver: HttpPeer, wait_until: Callable[..., None]
) -> None:
    answer = send(cloud_api, text_to("5511900000001"))
    receipt = send(cloud_api, {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.in"})

    assert receipt.json() == {"success": True}
    [reply] = cloud_api.replies_by_recipient()["5511900000001"]
    assert answer.json()["messages"] == [{"id": reply.wamid}]
    wait_until(lambda: webhook_receiver.received("/webhook/whatsapp"), timeout=5, what="the status webhook")
    [posted] = webhook_receiver.received("/webhook/whatsapp")
    assert verify_signature(SECRET, posted.body, posted.headers["x-hub-signature-256"])
    value = json.loads(posted.body)["entry"][0]["changes"][0]["value"]
    assert value["metadata"]["phone_number_id"] == PHONE_NUMBER_ID
    assert [(s["id"], s["status"], s["recipient_id"]) for s in value["statuses"]] == [
        (reply.wamid, "sent", "5511900000001")
    ]
    wait_until(lambda: cloud_api.status_taken_at(reply.wamid), timeout=5, what="the 200 recorded")


def test_failing_answers_500_and_delivers_nothing(cloud_api: CloudApiStandIn) -> None:
    cloud_api.mode = Mode.FAILING

    answer = send(cloud_api, text_to("5511900000002"))

    assert answer.status_code == 500
    assert answer.json()["error"]["code"] == 2
    assert cloud_api.deliveries() == []


def test_a_hung_send_times_out_at_the_client_yet_counts_as_delivered_and_every_other_status_is_dropped(
    cloud_api: CloudApiStandIn, webhook_receiver: HttpPeer, wait_until: Callable[..., None]
) -> None:
    cloud_api.mode = Mode.HANGING

    for recipient in ("5511900000003", "5511900000004"):
        with pytest.raises(httpx.ReadTimeout):
            send(cloud_api, text_to(recipient), timeout=0.2)

    first, second = cloud_api.deliveries()
    assert first.hung and second.hung
    assert (first.status_posted, second.status_posted) == (True, False)
    wait_until(lambda: cloud_api.status_taken_at(first.wamid), timeout=5, what="the first one's status")
    assert len(webhook_receiver.received("/webhook/whatsapp")) == 1


def test_a_slow_cloud_api_delivers_a_send_on_arrival_answers_it_later_and_a_read_receipt_at_once() -> None:
    standin = CloudApiStandIn(SECRET, send_latency_s=SEND_LATENCY_S).start()
    try:
        sent_at = time.monotonic()
        answer = send(standin, text_to("5511900000002"))
        answered_at = time.monotonic()
        [reply] = standin.replies_by_recipient()["5511900000002"]
        receipt_sent_at = time.monotonic()
        send(standin, {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.in"})
        receipt_after = time.monotonic() - receipt_sent_at
    finally:
        standin.stop()

    assert answer.json()["messages"] == [{"id": reply.wamid}]
    assert answered_at - sent_at >= SEND_LATENCY_S
    # Delivered as it arrived, the whole latency before its answer: a cut client may never hear of it.
    assert sent_at <= reply.at <= answered_at - SEND_LATENCY_S
    assert receipt_after < SEND_LATENCY_S  # no latency for a read receipt
