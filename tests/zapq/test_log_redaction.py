"""A phone number that slips into a log line is written as its customer tag; ids, UUIDs and URLs are not."""

from __future__ import annotations

import io
import json
import logging

import pytest

from zapq.customer_ids import customer_tag
from zapq.json_logs import JsonLines
from zapq.log_context import LogContext, about_task
from zapq.log_redaction import RedactPhoneNumbers, redact_numbers

NUMBER = "5511987650000"


@pytest.mark.parametrize(
    "text",
    [f"from {NUMBER}.", f"to +{NUMBER} now", f'{{"wa_id":"{NUMBER}"}}', f"wa_id={NUMBER}", "5511987650"],
)
def test_a_10_to_15_digit_run_standing_alone_becomes_the_customers_tag(text: str) -> None:
    redacted = redact_numbers(text)

    assert not any(run in redacted for run in (NUMBER, "5511987650"))
    assert "c:" in redacted


@pytest.mark.parametrize(
    "text",
    [
        "burst 3cf47664-3487-4c30-8f8f-446655440000 answered",  # a UUID's 12-digit last group
        "url=http://127.0.0.1:9/106540352242922/messages code=131026",  # the business number's id
        "wamid.HBgNNTUxMTk4NzY1MDAwMBUCABIYFDNBMDI",
        "sent_ns=1733000000000000000 batch=abc1234567890xyz",  # too long, or inside a word
        "nine digits 123456789",
    ],
)
def test_ids_urls_and_other_numbers_are_left_as_they_are(text: str) -> None:
    assert redact_numbers(text) == text


def record_through(handler: logging.Handler, message: str, *args: object, exc: bool = False) -> str:
    logger = logging.getLogger("tests.redaction")
    logger.propagate, logger.level = False, logging.INFO
    logger.addHandler(handler)
    try:
        if exc:
            try:
                raise ValueError(f"bad recipient {NUMBER}")
            except ValueError:
                logger.exception(message, *args)
        else:
            logger.info(message, *args)
    finally:
        logger.removeHandler(handler)
    stream = handler.stream  # type: ignore[attr-defined]
    return str(stream.getvalue())


def test_the_filter_redacts_a_lines_arguments_and_its_traceback() -> None:
    handler = logging.StreamHandler(io.StringIO())
    handler.addFilter(RedactPhoneNumbers())

    written = record_through(handler, "lookup of %s failed", NUMBER, exc=True)

    assert NUMBER not in written
    assert f"lookup of {customer_tag(NUMBER)} failed" in written
    assert "ValueError: bad recipient c:" in written


def test_a_json_line_has_its_fields_and_the_task_it_was_written_for() -> None:
    handler = logging.StreamHandler(io.StringIO())
    handler.setFormatter(JsonLines())
    handler.addFilter(LogContext())
    handler.addFilter(RedactPhoneNumbers())

    with about_task("task-42"):
        written = record_through(handler, "task step for %s\nsecond line", NUMBER)

    entry = json.loads(written.strip())
    assert entry["level"] == "INFO" and entry["logger"] == "tests.redaction"
    assert entry["message"] == f"task step for {customer_tag(NUMBER)}\nsecond line"
    assert entry["task_id"] == "task-42"
    assert entry["ts"].endswith("Z") and "correlation_id" not in entry
    assert len(written.strip().splitlines()) == 1
