"""Content-hash dedup, including periodiq's ticks from two schedulers."""

from __future__ import annotations

import time

import pendulum
import pytest

from middleware.errors import DuplicateMessage
from tests.middleware.helpers import decisions, drain


def test_equal_content_within_the_window_is_dropped_at_enqueue_after_it_ran(declare, broker, worker):
    runs = []

    @declare(dedup=60_000)
    def embed(text: str, lang: str = "pt") -> None:
        runs.append(text)

    embed.send("oi", lang="pt")
    drain(broker, worker)
    with pytest.raises(DuplicateMessage):
        embed.send("oi", lang="pt")
    embed.send("oi", lang="en")  # different content
    drain(broker, worker)

    assert runs == ["oi", "oi"]
    assert decisions(embed, "dedup_dropped") == 1


def test_equal_content_queued_together_runs_once(declare, broker, worker):
    runs = []

    @declare(dedup=60_000)
    def embed(text: str) -> None:
        time.sleep(0.2)
        runs.append(text)

    for _ in range(4):  # all enqueued before any ran: the consume-time check catches them
        embed.send("same")
    drain(broker, worker)
    time.sleep(1.0)
    drain(broker, worker)

    assert runs == ["same"]


def test_named_fields_define_the_content(declare, broker, worker):
    runs = []

    @declare(dedup=60_000, dedup_fields=["metric"])
    def collect(payload: dict) -> None:
        runs.append(payload["at"])

    collect.send({"metric": "leads", "at": 1})
    drain(broker, worker)
    with pytest.raises(DuplicateMessage):
        collect.send({"metric": "leads", "at": 2})

    assert runs == [1]


def test_hash_is_released_when_the_first_fails_for_good(declare, broker, worker):
    attempts = []

    @declare(dedup=60_000, max_retries=0)
    def embed(text: str) -> None:
        attempts.append(text)
        if len(attempts) == 1:
            raise RuntimeError("model down")

    embed.send("oi")
    drain(broker, worker)
    embed.send("oi")
    drain(broker, worker)

    assert attempts == ["oi", "oi"]


def test_two_schedulers_sending_the_same_tick_produce_one_run(declare, broker, worker):
    runs = []

    @declare()
    def tick_job() -> None:
        runs.append(1)

    tick = pendulum.now().replace(microsecond=0)
    tick_job.send_with_options(scheduled_at=str(tick))
    tick_job.send_with_options(scheduled_at=str(tick.in_timezone("America/Sao_Paulo")))  # same instant
    tick_job.send_with_options(scheduled_at=str(tick.add(minutes=1)))  # the next tick is its own
    drain(broker, worker)

    assert len(runs) == 2
    assert decisions(tick_job, "dedup_dropped") == 1
