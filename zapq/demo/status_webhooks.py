"""Status webhooks as Meta posts them: signed, when due, each retried with backoff until it gets a 200.

The send-once ledger (`zapq.whatsapp.sender`) counts on them: a `sent` report settles a send whose
answer was lost. The demo stand-in posts `sent` then `delivered` for each message; the fault
suite's stand-in (tests/support) posts `sent` alone, and drops some on purpose.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time

import httpx

from zapq.demo.webhooks import signed_headers, status

RETRY_FIRST_S = 0.5
RETRY_MAX_S = 5.0
POST_TIMEOUT_S = 5.0


class StatusWebhooks(threading.Thread):
    """Posts `status(...)` bodies signed with `app_secret` to `webhook_url` once due.

    Nothing is posted while `webhook_url` is empty; reports wait for it. The thread ends when
    `stopping` is set, leaving what was not taken.
    """

    def __init__(self, app_secret: str, stopping: threading.Event, *, webhook_url: str = "") -> None:
        super().__init__(name="cloud-api-statuses", daemon=True)
        self.app_secret = app_secret
        self.webhook_url = webhook_url
        self._stopping = stopping
        self.taken_at: dict[tuple[str, str], float] = {}  # (wamid, state) -> when it got 200, monotonic
        self._due: list[
            tuple[float, int, str, str, bytes, float]
        ] = []  # when, tie, wamid, state, body, backoff
        self._order = itertools.count()
        self._wake = threading.Condition()

    @property
    def pending(self) -> int:
        with self._wake:
            return len(self._due)

    def post(self, phone_number_id: str, wamid: str, recipient: str, state: str, *, delay_s: float) -> None:
        """Report `state` of our message `wamid` to `recipient`, `delay_s` from now."""
        body = status(phone_number_id, wamid, recipient, state)
        self._schedule(time.monotonic() + delay_s, wamid, state, body, RETRY_FIRST_S)

    def run(self) -> None:
        with httpx.Client(timeout=POST_TIMEOUT_S) as client:
            while not self._stopping.is_set():
                due = self._next_due()
                if due is None:
                    continue
                wamid, state, body, backoff_s = due
                if self._deliver(client, body):
                    self.taken_at[(wamid, state)] = time.monotonic()
                else:
                    retry_at = time.monotonic() + backoff_s
                    self._schedule(retry_at, wamid, state, body, min(backoff_s * 2, RETRY_MAX_S))

    def _schedule(self, when: float, wamid: str, state: str, body: bytes, backoff_s: float) -> None:
        with self._wake:
            heapq.heappush(self._due, (when, next(self._order), wamid, state, body, backoff_s))
            self._wake.notify()

    def _next_due(self) -> tuple[str, str, bytes, float] | None:
        with self._wake:
            if not self._due or self._due[0][0] > time.monotonic() or not self.webhook_url:
                wait_s = self._due[0][0] - time.monotonic() if self._due else 0.2
                self._wake.wait(timeout=min(max(wait_s, 0.01), 0.2))
                return None
            _, _, wamid, state, body, backoff_s = heapq.heappop(self._due)
            return wamid, state, body, backoff_s

    def _deliver(self, client: httpx.Client, body: bytes) -> bool:
        try:
            answer = client.post(
                self.webhook_url, content=body, headers=signed_headers(self.app_secret, body)
            )
        except httpx.HTTPError:
            return False
        return answer.status_code == 200
