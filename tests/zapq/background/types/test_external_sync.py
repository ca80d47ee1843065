"""external_sync: a signed POST to the n8n workflow named by sync_type, n8n's answer kept in the result."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from tests.support.http_peer import CannedResponse
from tests.support.task_context import RecordingContext
from zapq.background.handlers import TASK_TYPES, PermanentTaskError, RetryAfter
from zapq.background.types.http_delivery import DeliveryFailed

SECRET = "test-n8n-secret"
sync = TASK_TYPES["external_sync"].handler


@pytest.fixture
def n8n(http_peer, environment):
    environment(N8N_WEBHOOK_URL=f"{http_peer.url}/webhook/", TASK_WEBHOOK_SIGNING_SECRET=SECRET)
    return http_peer


def test_the_sync_goes_to_its_workflow_signed_and_n8n_answer_is_the_result(n8n):
    n8n.default = CannedResponse(200, {"executionId": "981", "synced": 12})
    context = RecordingContext(task_id="task-9", organization_id="loja-1")

    result = sync(context, {"sync_type": "crm-leads", "data": {"since": "2026-12-01"}})

    [request] = n8n.received()
    assert request.path == "/webhook/crm-leads"
    assert request.json() == {"sync_type": "crm-leads", "organization_id": "loja-1", "task_id": "task-9",
                              "data": {"since": "2026-12-01"}}  # fmt: skip
    timestamp = request.headers["x-zapq-timestamp"]
    expected = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + request.body, hashlib.sha256).hexdigest()
    assert request.headers["x-zapq-signature-256"] == f"sha256={expected}"
    assert result == {"sync_type": "crm-leads", "status": 200, "duration_ms": result["duration_ms"],
                      "answer": {"executionId": "981", "synced": 12}, "answer_truncated": False}  # fmt: skip
    assert context.logged("attempt 1: POST http://127.0.0.1:")


def test_n8n_is_retried_as_a_webhook_is(n8n):
    n8n.enqueue(
        CannedResponse(502, {}),
        CannedResponse(429, {}, headers={"Retry-After": "30"}),
        CannedResponse(404, {}),
    )

    with pytest.raises(DeliveryFailed):
        sync(RecordingContext(attempt=1), {"sync_type": "crm-leads", "data": {}})
    with pytest.raises(RetryAfter):
        sync(RecordingContext(attempt=2), {"sync_type": "crm-leads", "data": {}})
    with pytest.raises(PermanentTaskError, match="answered 404"):
        sync(RecordingContext(attempt=3), {"sync_type": "crm-leads", "data": {}})


def test_without_a_signing_secret_the_post_goes_unsigned_and_the_log_says_so(n8n, environment):
    environment(TASK_WEBHOOK_SIGNING_SECRET="")
    context = RecordingContext()

    sync(context, {"sync_type": "estoque", "data": {}})

    assert "x-zapq-signature-256" not in n8n.received()[0].headers
    assert context.logged("goes unsigned")


def test_without_n8n_webhook_url_the_task_fails_for_good_naming_it(environment):
    environment(N8N_WEBHOOK_URL="")

    with pytest.raises(PermanentTaskError, match="N8N_WEBHOOK_URL"):
        sync(RecordingContext(), {"sync_type": "crm-leads", "data": {}})


@pytest.mark.parametrize(
    "sync_type",
    ["../admin", "crm/leads", "CRM", "", "a" * 65, "crm?x=1"],
    ids=["dots", "slash", "upper", "empty", "long", "query"],
)
def test_a_sync_type_is_one_plain_path_segment(sync_type):
    with pytest.raises(PermanentTaskError, match="sync_type"):
        sync(RecordingContext(), {"sync_type": sync_type, "data": {}})
