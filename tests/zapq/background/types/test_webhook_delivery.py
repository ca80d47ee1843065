"""webhook_delivery: a real POST to a receiver on 127.0.0.1, signed, timed, and classified for retries."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest

from tests.support.http_peer import CannedResponse
from tests.support.task_context import RecordingContext
from zapq.background.handlers import TASK_TYPES, PermanentTaskError, RetryAfter
from zapq.background.types.http_delivery import DeliveryFailed

SECRET = "test-task-webhook-secret"
deliver = TASK_TYPES["webhook_delivery"].handler


@pytest.fixture
def receiver(http_peer, environment):
    """The receiver on 127.0.0.1, which the SSRF guard lets through only because it is allowed."""
    environment(WEBHOOK_ALLOWED_HOSTS="127.0.0.1", TASK_WEBHOOK_SIGNING_SECRET=SECRET, WEBHOOK_TIMEOUT_S="2")
    return http_peer


def verify(secret: str, timestamp: str, body: bytes, header: str, tolerance_s: int = 300) -> bool:
    """The receiver's check, as docs/background-tasks.md gives it."""
    expected = (
        "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    )
    return hmac.compare_digest(expected, header) and abs(time.time() - int(timestamp)) <= tolerance_s


def test_a_signed_delivery_reaches_the_receiver_which_verifies_it_with_the_documented_recipe(receiver):
    receiver.default = CannedResponse(200, {"received": True})
    context = RecordingContext(task_id="task-42")

    result = deliver(
        context,
        {"webhook_url": f"{receiver.url}/hooks/lead?source=zapq", "data": {"lead": "Ana", "car": "Corolla"},
         "headers": {"X-Tenant": "loja-1"}, "sign_payload": True},
    )  # fmt: skip

    [request] = receiver.received("/hooks/lead")
    assert request.path == "/hooks/lead?source=zapq"
    assert request.json() == {"lead": "Ana", "car": "Corolla"}
    assert request.headers["x-tenant"] == "loja-1" and request.headers["x-zapq-task-id"] == "task-42"
    assert verify(
        SECRET, request.headers["x-zapq-timestamp"], request.body, request.headers["x-zapq-signature-256"]
    )
    assert not verify(
        "another-secret",
        request.headers["x-zapq-timestamp"],
        request.body,
        request.headers["x-zapq-signature-256"],
    )
    assert result["status"] == 200 and result["answer"] == {"received": True} and result["signed"] is True
    assert context.logged("attempt 1: POST http://127.0.0.1:")[0].split(" -> ")[1].startswith("200 in ")


def test_an_unsigned_delivery_carries_no_signature(receiver):
    deliver(RecordingContext(), {"webhook_url": receiver.url, "data": {"n": 1}})

    [request] = receiver.received()
    assert "x-zapq-signature-256" not in request.headers and "x-zapq-timestamp" not in request.headers


def test_signing_without_a_secret_fails_for_good_before_anything_is_sent(receiver, environment):
    environment(TASK_WEBHOOK_SIGNING_SECRET="")

    with pytest.raises(PermanentTaskError, match="TASK_WEBHOOK_SIGNING_SECRET"):
        deliver(RecordingContext(), {"webhook_url": receiver.url, "data": {}, "sign_payload": True})
    assert receiver.received() == []


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408, 429], ids=str)
def test_server_errors_timeouts_and_too_many_requests_are_retried(receiver, status):
    receiver.default = CannedResponse(status, {"error": "later"})
    context = RecordingContext(attempt=3)

    with pytest.raises(DeliveryFailed, match=f"answered {status}"):
        deliver(context, {"webhook_url": receiver.url, "data": {}})
    assert context.logged(f"attempt 3: POST {receiver.url} -> {status} in ")


@pytest.mark.parametrize(
    ("status", "retry_after", "seconds"),
    [(429, "7", 7.0), (503, "120", 120.0), (429, "9999999", 86_400.0)],
    ids=["429-seconds", "503-seconds", "capped-at-a-day"],
)
def test_retry_after_is_honoured(receiver, status, retry_after, seconds):
    receiver.default = CannedResponse(status, {}, headers={"Retry-After": retry_after})

    with pytest.raises(RetryAfter) as raised:
        deliver(RecordingContext(), {"webhook_url": receiver.url, "data": {}})
    assert raised.value.seconds == seconds


def test_retry_after_as_an_http_date_is_the_time_until_then(receiver):
    in_a_minute = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 60))
    receiver.default = CannedResponse(429, {}, headers={"Retry-After": in_a_minute})

    with pytest.raises(RetryAfter) as raised:
        deliver(RecordingContext(), {"webhook_url": receiver.url, "data": {}})
    assert 55 <= raised.value.seconds <= 61


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422], ids=str)
def test_other_client_errors_fail_for_good(receiver, status):
    receiver.default = CannedResponse(status, {"error": "no such hook"})

    with pytest.raises(PermanentTaskError, match=f"answered {status}: .*no such hook"):
        deliver(RecordingContext(), {"webhook_url": receiver.url, "data": {}})


def test_a_redirect_is_not_followed(receiver):
    receiver.enqueue(
        CannedResponse(302, {}, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    )

    with pytest.raises(PermanentTaskError, match="redirects are not followed"):
        deliver(RecordingContext(), {"webhook_url": f"{receiver.url}/first", "data": {}})
    assert [request.path for request in receiver.received()] == ["/first"]


def test_a_receiver_that_does_not_answer_in_time_is_retried(receiver, environment):
    environment(WEBHOOK_TIMEOUT_S="0.3")
    receiver.default = CannedResponse(200, {}, delay_s=2.0)
    context = RecordingContext()
    started = time.monotonic()

    with pytest.raises(DeliveryFailed, match="timed out"):
        deliver(context, {"webhook_url": receiver.url, "data": {}})
    assert time.monotonic() - started < 1.5
    assert context.logged(" -> timeout after ")


def test_a_receiver_that_is_not_listening_is_retried(environment):
    environment(WEBHOOK_ALLOWED_HOSTS="127.0.0.1")

    with pytest.raises(DeliveryFailed, match="ConnectError"):
        deliver(RecordingContext(), {"webhook_url": "http://127.0.0.1:9/", "data": {}})


def test_a_large_answer_is_kept_in_part(receiver):
    receiver.default = CannedResponse(200, "x" * 200_000)

    result = deliver(RecordingContext(), {"webhook_url": receiver.url, "data": {}})

    assert result["answer_truncated"] is True and len(result["answer"]) == 65_536


@pytest.mark.parametrize(
    ("payload", "named"),
    [({"webhook_url": "ftp://example.com/x", "data": {}}, "webhook_url"),
     ({"webhook_url": "https://example.com", "data": {}, "headers": {"X-Zapq-Signature-256": "forged"}},
      "headers"),
     ({"webhook_url": "https://example.com", "data": {}, "headers": {"Host": "internal"}}, "headers"),
     ({"webhook_url": "https://example.com", "data": {}, "headers": {"X-Evil": "a\r\nInjected: 1"}},
      "headers"),
     ({"webhook_url": "https://example.com"}, "data")],
    ids=["scheme", "zapq-header", "host-header", "header-injection", "no-data"],
)  # fmt: skip
def test_a_payload_that_cannot_work_is_refused_naming_the_field(payload, named):
    with pytest.raises(PermanentTaskError, match=named):
        deliver(RecordingContext(), payload)


def test_the_body_is_the_data_as_json(receiver):
    deliver(
        RecordingContext(), {"webhook_url": receiver.url, "data": {"preço": "R$ 95.000", "ok": [1, None]}}
    )

    [request] = receiver.received()
    assert json.loads(request.body) == {"preço": "R$ 95.000", "ok": [1, None]}
    assert request.headers["content-type"] == "application/json"
