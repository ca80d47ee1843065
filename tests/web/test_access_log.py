"""One line per request at INFO: method, path (no query values nor numbers), status, duration, client."""

from __future__ import annotations

import logging
import re

import pytest
from starlette.testclient import TestClient

from zapq.customer_ids import customer_tag
from zapq.settings import get_settings

ACCESS = "web.access_log"
LINE = re.compile(r"^(\S+) (\S+) (\d{3}) (\d+\.\d)ms (\S+)$")


def access_lines(caplog: pytest.LogCaptureFixture, level: int = logging.INFO) -> list[tuple[str, ...]]:
    return [
        match.groups()
        for record in caplog.records
        if record.name == ACCESS and record.levelno == level and (match := LINE.match(record.getMessage()))
    ]


def test_each_request_is_one_line_with_method_path_status_duration_and_client(web_client, caplog):
    web_client.post("/webhook/whatsapp", content=b"{}")
    web_client.get("/nowhere")

    lines = access_lines(caplog)
    assert [(method, path, status, client) for method, path, status, _, client in lines] == [
        ("POST", "/webhook/whatsapp", "401", "testclient"),
        ("GET", "/nowhere", "404", "testclient"),
    ]
    assert all(float(duration) < 10_000 for *_, duration, _ in lines)


def test_query_values_are_left_out_as_they_may_be_secrets(web_client, caplog):
    web_client.get(
        "/webhook/whatsapp",
        params={"hub.mode": "subscribe", "hub.verify_token": "test-verify-token", "hub.challenge": "42"},
    )

    assert [path for _, path, *_ in access_lines(caplog)] == [
        "/webhook/whatsapp?hub.mode&hub.verify_token&hub.challenge"
    ]
    assert "test-verify-token" not in caplog.text


def test_a_customer_number_in_the_path_is_logged_as_its_hash(web_client, caplog):
    web_client.post(
        "/api/conversations/5511987654321/release", headers={"authorization": "Bearer test-admin-token"}
    )

    assert [path for _, path, *_ in access_lines(caplog)] == [
        f"/api/conversations/{customer_tag('5511987654321')}/release"
    ]
    assert "5511987654321" not in caplog.text


def test_a_path_cannot_forge_a_line_of_its_own(web_client, caplog):
    web_client.get("/x%0A2026-01-01 00:00:00,000 INFO web.whatsapp_webhook webhook received")

    (record,) = [record for record in caplog.records if record.name == ACCESS]
    assert "\n" not in record.getMessage()


def test_health_probes_and_scrapes_are_logged_at_debug_only(web_client, caplog):
    with caplog.at_level(logging.DEBUG, logger=ACCESS):
        for path in ("/health", "/health/ready", "/metrics"):
            web_client.get(path)

    assert access_lines(caplog) == []
    assert [path for _, path, *_ in access_lines(caplog, logging.DEBUG)] == [
        "/health",
        "/health/ready",
        "/metrics",
    ]


def test_access_log_false_turns_the_lines_off(broker, monkeypatch, caplog):
    from web.app import create_app

    monkeypatch.setenv("ACCESS_LOG", "false")
    get_settings.cache_clear()
    with TestClient(create_app()) as client:
        client.get("/nowhere")

    assert access_lines(caplog) == []
