"""A correlation id travels with what it causes: into each message sent, through a debounce batch, onward."""

from __future__ import annotations

import threading
from typing import Any

from middleware.correlation import MessageContext, bind_correlation, current_message_context, unbind


def test_a_batch_runs_under_its_first_senders_id_lists_every_merged_id_and_passes_the_first_on(
    declare: Any, worker: Any, wait_until: Any
) -> None:
    seen: list[MessageContext | None] = []
    done = threading.Event()

    @declare
    def after(note: str) -> None:
        seen.append(current_message_context())
        done.set()

    @declare(debounce="user", debounce_window=300, debounce_max_wait=3000)
    def burst(items: list[dict[str, str]]) -> None:
        seen.append(current_message_context())
        after.send("next")

    for correlation_id, text in (
        ("corr-first-aa", "oi"),
        ("corr-second-bb", "tudo bem?"),
        ("corr-first-aa", "?"),
    ):
        token = bind_correlation(correlation_id)
        try:
            burst.send({"user": "u-1", "text": text})
        finally:
            unbind(token)
    wait_until(done.is_set, timeout=15, what="the batch and the message it sent")

    batch, onward = seen
    assert batch is not None and onward is not None
    assert batch.correlation_id == "corr-first-aa"
    assert batch.merged_correlation_ids == ("corr-first-aa", "corr-second-bb")
    assert onward.correlation_id == "corr-first-aa" and onward.merged_correlation_ids == ()
    assert onward.message_id != batch.message_id


def test_a_message_sent_with_no_id_current_runs_with_none(declare: Any, worker: Any, wait_until: Any) -> None:
    seen: list[MessageContext | None] = []

    @declare
    def plain() -> None:
        seen.append(current_message_context())

    message = plain.send()
    wait_until(lambda: seen, timeout=10)

    assert seen[0] is not None
    assert seen[0].correlation_id is None and seen[0].message_id == message.message_id
