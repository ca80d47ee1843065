"""A flood of one log line becomes a few lines and a count."""

from __future__ import annotations

import logging

import pytest

from zapq.log_limits import SUMMARY_LOGGER, RepeatLimit


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name} {record.getMessage()}")


@pytest.fixture
def limited() -> tuple[logging.Logger, Collect, Clock]:
    clock = Clock()
    handler = Collect()
    handler.addFilter(RepeatLimit(handler, limit=3, window_s=10.0, clock=clock))
    logger = logging.getLogger("tests.flood")
    logger.propagate = False
    logger.handlers = [handler]
    logger.setLevel(logging.INFO)
    return logger, handler, clock


def test_a_flood_of_one_line_lets_the_first_few_through_then_reports_the_count(limited) -> None:  # type: ignore[no-untyped-def]
    logger, handler, clock = limited
    for attempt in range(10_000):
        logger.error("redis is down (attempt %d)", attempt)
    assert handler.lines == [f"tests.flood redis is down (attempt {n})" for n in range(3)]

    clock.now = 11.0
    logger.error("redis is down (attempt %d)", 10_000)
    assert handler.lines[3].startswith(f"{SUMMARY_LOGGER} 9997 more ERROR line(s) from tests.flood like")
    assert handler.lines[4] == "tests.flood redis is down (attempt 10000)"


def test_the_count_is_reported_when_the_flood_stops_and_other_lines_go_on(limited) -> None:  # type: ignore[no-untyped-def]
    logger, handler, clock = limited
    for _ in range(5):
        logger.warning("bad part in webhook")
    clock.now = 30.0
    logger.info("something else entirely")
    assert handler.lines[-2].startswith(f"{SUMMARY_LOGGER} 2 more WARNING line(s)")
    assert handler.lines[-1] == "tests.flood something else entirely"


def test_different_kinds_are_limited_separately(limited) -> None:  # type: ignore[no-untyped-def]
    logger, handler, _ = limited
    for _ in range(5):
        logger.warning("one kind")
        logger.warning("another kind")
    assert handler.lines.count("tests.flood one kind") == 3
    assert handler.lines.count("tests.flood another kind") == 3


def test_memory_stays_bounded_under_endless_distinct_templates(limited) -> None:  # type: ignore[no-untyped-def]
    logger, handler, _ = limited
    for n in range(5_000):
        logger.warning(f"template {n}")
    limit = handler.filters[0]
    assert isinstance(limit, RepeatLimit)
    assert len(limit._kinds) <= 1024


def test_info_lines_are_one_per_event_and_never_cut(limited) -> None:  # type: ignore[no-untyped-def]
    logger, handler, _ = limited
    for n in range(100):
        logger.info("burst %d answered", n)
    logger.warning("a warning")

    assert len(handler.lines) == 101
