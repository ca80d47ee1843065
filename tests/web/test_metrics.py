"""GET /metrics: the web's requests and enqueues, in series whose labels no client can choose."""

from __future__ import annotations

import re

from tests.support.generic_webhook import post_event


def test_metrics_count_requests_by_route_and_enqueues_by_actor(web_client):
    post_event(web_client, {"unique_id": "u1", "message": "oi"})
    post_event(web_client, {"unique_id": "u1"})

    text = web_client.get("/metrics").text

    assert 'zapq_http_requests_total{method="POST",route="/webhook",status="202"}' in text
    assert 'zapq_http_requests_total{method="POST",route="/webhook",status="422"}' in text
    assert 'zapq_enqueued_messages_total{actor_name="store_webhook_events",queue_name="default"}' in text
    assert "zapq_http_request_duration_seconds_bucket" in text


def test_made_up_methods_and_paths_do_not_create_series(web_client):
    def request_series() -> set[str]:
        text = web_client.get("/metrics").text
        return set(re.findall(r"^zapq_http_requests_total\{([^}]*)\}", text, re.MULTILINE))

    before = request_series()
    for n in range(200):
        web_client.request(f"M{n}", f"/made-up/{n}")
        web_client.request(f"M{n}", "/health")

    added = request_series() - before
    assert added <= {
        'method="other",route="unmatched",status="404"',
        'method="other",route="/health",status="405"',
        'method="GET",route="/metrics",status="200"',
    }


def test_requests_refused_before_routing_are_labelled_with_their_route(web_client):
    web_client.post("/webhook", content=b"x" * 70_000, headers={"content-type": "application/json"})

    text = web_client.get("/metrics").text

    assert 'zapq_http_requests_total{method="POST",route="/webhook",status="413"}' in text
