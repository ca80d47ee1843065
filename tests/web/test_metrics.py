from __future__ import annotations


def test_metrics_count_requests_by_route_and_enqueues_by_actor(web_client):
    web_client.post("/webhook", json={"unique_id": "u1", "message": "oi"})
    web_client.post("/webhook", json={"unique_id": "u1"})

    text = web_client.get("/metrics").text

    assert 'zapq_http_requests_total{method="POST",route="/webhook",status="202"}' in text
    assert 'zapq_http_requests_total{method="POST",route="/webhook",status="422"}' in text
    assert 'zapq_enqueued_messages_total{actor_name="store_webhook_events",queue_name="default"}' in text
    assert "zapq_http_request_duration_seconds_bucket" in text
