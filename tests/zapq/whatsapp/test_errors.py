"""Graph API failures become errors that say what to do next, decided by code, not message text."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY

from tests.support.graph_api import graph_error_body
from tests.support.http_peer import CannedResponse, HttpPeer
from zapq.whatsapp.client import WhatsAppClient
from zapq.whatsapp.errors import (
    AccessTokenInvalid,
    OutsideServiceWindow,
    PermanentSendError,
    RetryableSendError,
    WhatsAppSendError,
    classify_response,
)


@pytest.fixture
def whatsapp(http_peer: HttpPeer) -> Iterator[WhatsAppClient]:
    with WhatsAppClient(f"{http_peer.url}/v21.0", "test-token", "106540352242922", timeout_s=0.5) as client:
        yield client


def failure_of(client: WhatsAppClient) -> WhatsAppSendError:
    with pytest.raises(WhatsAppSendError) as raised:
        client.send_text("5511987654321", "Oi!")
    return raised.value


@pytest.mark.parametrize(
    ("http_status", "code", "expected"),
    [
        (400, 130429, RetryableSendError),
        (400, 131056, RetryableSendError),
        (400, 131047, OutsideServiceWindow),
        (400, 131026, PermanentSendError),
        (400, 131048, PermanentSendError),
        (401, 190, AccessTokenInvalid),
        (400, 100, PermanentSendError),
        (403, 10, PermanentSendError),
        (429, 4, RetryableSendError),
        (500, 131000, RetryableSendError),
    ],
)
def test_graph_error_code_decides_the_outcome(
    whatsapp: WhatsAppClient, http_peer: HttpPeer, http_status: int, code: int, expected: type
) -> None:
    http_peer.enqueue(
        CannedResponse(status=http_status, body=graph_error_body(code, details="Why it failed"))
    )

    error = failure_of(whatsapp)

    assert type(error) is expected
    assert (error.code, error.http_status, error.details) == (code, http_status, "Why it failed")
    assert error.title == f"(#{code}) Some title"


def test_the_message_text_does_not_change_the_outcome(whatsapp: WhatsAppClient, http_peer: HttpPeer) -> None:
    misleading = graph_error_body(131026, title="Rate limit hit, try again later")
    http_peer.enqueue(CannedResponse(status=400, body=misleading))

    assert type(failure_of(whatsapp)) is PermanentSendError


def test_rate_limits_suggest_how_long_to_wait(whatsapp: WhatsAppClient, http_peer: HttpPeer) -> None:
    http_peer.enqueue(
        CannedResponse(status=400, body=graph_error_body(130429)),
        CannedResponse(status=400, body=graph_error_body(131056)),
    )

    throughput, pair_rate = failure_of(whatsapp), failure_of(whatsapp)

    assert isinstance(throughput, RetryableSendError) and throughput.retry_after_s == 1.0
    assert isinstance(pair_rate, RetryableSendError) and pair_rate.retry_after_s == 6.0


def test_retry_after_header_overrides_the_suggested_wait() -> None:
    error = classify_response(429, b"{}", retry_after="17")

    assert isinstance(error, RetryableSendError)
    assert error.retry_after_s == 17.0


@pytest.mark.parametrize("http_status", [500, 502, 503])
def test_server_errors_without_a_graph_body_are_retryable(
    whatsapp: WhatsAppClient, http_peer: HttpPeer, http_status: int
) -> None:
    http_peer.enqueue(CannedResponse(status=http_status, body="<html>Bad gateway</html>"))

    error = failure_of(whatsapp)

    assert type(error) is RetryableSendError
    assert (error.code, error.http_status) == (None, http_status)


def test_other_client_errors_without_a_code_are_permanent(
    whatsapp: WhatsAppClient, http_peer: HttpPeer
) -> None:
    http_peer.enqueue(CannedResponse(status=404, body={"detail": "not found"}))

    error = failure_of(whatsapp)

    assert type(error) is PermanentSendError
    assert error.http_status == 404


def test_a_timeout_is_retryable(whatsapp: WhatsAppClient, http_peer: HttpPeer) -> None:
    http_peer.enqueue(CannedResponse(body={"messages": [{"id": "wamid.late"}]}, delay_s=2.0))

    error = failure_of(whatsapp)

    assert type(error) is RetryableSendError
    assert (error.code, error.http_status) == (None, None)
    assert "Timeout" in error.title


def test_a_refused_connection_is_retryable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with WhatsAppClient(f"http://127.0.0.1:{port}/v21.0", "test-token", "1", timeout_s=1) as client:
        error = failure_of(client)

    assert type(error) is RetryableSendError
    assert error.http_status is None


def test_each_failure_is_counted_by_its_code(whatsapp: WhatsAppClient, http_peer: HttpPeer) -> None:
    def undeliverable_count() -> float:
        return REGISTRY.get_sample_value("zapq_whatsapp_send_errors_total", {"code": "131026"}) or 0.0

    before = undeliverable_count()
    http_peer.enqueue(*[CannedResponse(status=400, body=graph_error_body(131026))] * 2)

    failure_of(whatsapp)
    failure_of(whatsapp)

    assert undeliverable_count() == before + 2
