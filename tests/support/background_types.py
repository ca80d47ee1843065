"""Tiny task types for the background-task service's tests, registered at import.

`test_noop` returns at once; `test_sleeper` reports progress `steps` times over `seconds`
(each report is a cancellation check); `test_crasher` raises (`permanent` or not);
`test_flaky` fails its first `failures` attempts. Retries wait 0.1 s, 0.2 s, ...
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from zapq.background.api import background_task
from zapq.background.handlers import PermanentTaskError, RetryPolicy, TaskContext, register

FAST_RETRIES = RetryPolicy(max_retries=2, factor=2.0, base_s=0.1, max_s=1.0)


@register("test_noop", retry=FAST_RETRIES)
def noop(context: TaskContext, payload: Mapping[str, Any]) -> dict[str, Any]:
    return {"echo": dict(payload), "attempt": context.attempt}


@register("test_sleeper", retry=FAST_RETRIES)
def sleeper(context: TaskContext, payload: Mapping[str, Any]) -> dict[str, Any]:
    steps = int(payload.get("steps", 5))
    seconds = float(payload.get("seconds", 0.5))
    context.log(f"sleeping {seconds} s in {steps} steps")
    for step in range(1, steps + 1):
        time.sleep(seconds / steps)
        context.progress(step / steps, f"step {step} of {steps}")
    return {"steps": steps}


@register("test_crasher", retry=FAST_RETRIES)
def crasher(context: TaskContext, payload: Mapping[str, Any]) -> dict[str, Any]:
    if payload.get("permanent"):
        raise PermanentTaskError("this input can never work")
    raise RuntimeError(f"boom on attempt {context.attempt}")


@register("test_flaky", retry=FAST_RETRIES)
def flaky(context: TaskContext, payload: Mapping[str, Any]) -> dict[str, Any]:
    if context.attempt <= int(payload.get("failures", 1)):
        raise ConnectionError(f"flaky on attempt {context.attempt}")
    context.log(f"worked on attempt {context.attempt}")
    return {"attempt": context.attempt}


@background_task("test_shout", priority="high")
def shout(context: TaskContext, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Declared with the decorator: calling `shout(payload, ...)` submits a task."""
    return {"text": str(payload["text"]).upper()}
