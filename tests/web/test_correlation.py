"""Every answer carries a correlation id: the caller's when it is safe to log, else a new one."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from web.correlation import accepted_id


@pytest.mark.parametrize("value", ["req-first-4b1d", "0f8fad5b-d9cb-469f-a165-70a867728e5e", "a" * 64])
def test_a_plain_id_with_a_letter_is_kept(value: str) -> None:
    assert accepted_id(value.encode()) == value


@pytest.mark.parametrize(
    "value",
    [
        "5511987650000",  # a phone number
        "abc-5511987650000",  # one inside an id
        "short",
        "a" * 65,
        "abc\r\nInjected: line",
        "abc def ghi",
        "ação-1234567",
    ],
)
def test_an_id_that_could_carry_a_number_or_forge_a_line_is_refused(value: str) -> None:
    assert accepted_id(value.encode("utf-8")) is None


def test_the_answer_echoes_a_good_request_id_and_replaces_a_bad_one(web_client: TestClient) -> None:
    kept = web_client.get("/health", headers={"x-request-id": "req-abcdef12"})
    replaced = web_client.get("/health", headers={"x-correlation-id": "5511987650000"})
    made = web_client.get("/nowhere")

    assert kept.headers["x-correlation-id"] == "req-abcdef12"
    assert replaced.headers["x-correlation-id"] != "5511987650000"
    assert len(replaced.headers["x-correlation-id"]) == 32
    assert (
        made.status_code == 404 and made.headers["x-correlation-id"] != replaced.headers["x-correlation-id"]
    )
