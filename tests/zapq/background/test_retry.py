"""Retry delays follow the task type's policy: base * factor**n, capped, jittered."""

from __future__ import annotations

import random

from zapq.background.handlers import RetryPolicy
from zapq.background.retry import JITTER, max_attempts, retry_delay_s


def test_the_seed_policy_waits_about_60_120_240_seconds_then_gives_up() -> None:
    policy = RetryPolicy()
    draw = random.Random(7)
    for retry, nominal in ((1, 60), (2, 120), (3, 240)):
        delays = [retry_delay_s(policy, retry, draw) for _ in range(200)]
        assert all(nominal * (1 - JITTER) <= delay <= nominal * (1 + JITTER) for delay in delays)
        assert len({round(delay, 3) for delay in delays}) > 100  # jittered, not one value
    assert max_attempts(policy) == 4


def test_a_delay_never_exceeds_the_cap() -> None:
    policy = RetryPolicy(max_retries=20, factor=3, base_s=10, max_s=100)
    assert max(retry_delay_s(policy, retry) for retry in range(1, 21)) <= 100
