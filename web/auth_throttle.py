"""Slows down guessing a token: each failure of one client makes its next refusal come later.

The delay doubles with each consecutive failure, from `base_delay_s` up to `max_delay_s`; a
success, or `forget_after_s` without failures, starts the client over. At most `max_clients`
clients are remembered (the one that failed least recently goes first), so a flood of addresses
costs bounded memory.
"""

from __future__ import annotations

import time
from collections import OrderedDict

DEFAULT_BASE_DELAY_S = 0.1
DEFAULT_MAX_DELAY_S = 4.0
DEFAULT_FORGET_AFTER_S = 600.0
DEFAULT_MAX_CLIENTS = 10_000


class FailedAuthThrottle:
    def __init__(
        self,
        *,
        base_delay_s: float = DEFAULT_BASE_DELAY_S,
        max_delay_s: float = DEFAULT_MAX_DELAY_S,
        forget_after_s: float = DEFAULT_FORGET_AFTER_S,
        max_clients: int = DEFAULT_MAX_CLIENTS,
    ) -> None:
        self.base_delay_s = base_delay_s
        self.max_delay_s = max_delay_s
        self.forget_after_s = forget_after_s
        self.max_clients = max_clients
        # client -> (consecutive failures, monotonic time of the last one), least recent first
        self._failures: OrderedDict[str, tuple[int, float]] = OrderedDict()

    def record_failure(self, client: str) -> int:
        """Count one more failure of `client`; return how many in a row it has now."""
        now = time.monotonic()
        count, last = self._failures.pop(client, (0, now))
        if now - last >= self.forget_after_s:
            count = 0
        self._failures[client] = (count + 1, now)
        while len(self._failures) > self.max_clients:
            self._failures.popitem(last=False)
        return count + 1

    def delay_s(self, failures_in_a_row: int) -> float:
        """How long to wait before refusing a client with that many failures in a row."""
        if failures_in_a_row <= 0:
            return 0.0
        return float(min(self.max_delay_s, self.base_delay_s * 2.0 ** min(failures_in_a_row - 1, 32)))

    def record_success(self, client: str) -> None:
        self._failures.pop(client, None)

    def __len__(self) -> int:
        return len(self._failures)
