"""When a failed attempt runs again: the task type's RetryPolicy, with jitter."""

from __future__ import annotations

import random

from zapq.background.handlers import RetryPolicy

#: Each delay is moved by up to this fraction either way, so tasks that failed together spread out.
JITTER = 0.2


def retry_delay_s(policy: RetryPolicy, retry: int, draw: random.Random | None = None) -> float:
    """The wait before retry `retry` (1 for the first): base * factor**(retry - 1), capped, jittered."""
    nominal = min(policy.max_s, policy.base_s * policy.factor ** max(0, retry - 1))
    spread = (draw or random).uniform(-JITTER, JITTER)
    return max(0.0, min(policy.max_s, nominal * (1 + spread)))


def max_attempts(policy: RetryPolicy) -> int:
    """The first run plus its retries."""
    return 1 + max(0, policy.max_retries)
