"""The runs this process holds, and the renewal that keeps their leases alive while they run.

Renewal follows the shortest lease in flight (every third of it), so an actor whose own
`lease_ms` is shorter than the middleware's is renewed in time. It runs until the worker
has shut down, not merely begun to: during a graceful shutdown actors keep running for
up to the shutdown timeout, and their leases must hold as long as they do. Each renewal
also heartbeats the worker in Dramatiq's heartbeat set: a worker whose threads are all
busy fetches nothing, and without a heartbeat its unacked messages would be handed to
another worker while it still runs them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dramatiq.common import current_millis

from middleware.planning import Plan
from middleware.scripts import ScriptCall


@dataclass
class HeldRun:
    owner: str  # the attempt: "<redis_message_id>:<random>"
    message_id: str
    fence: int
    plan: Plan

    @property
    def delivery(self) -> str:
        """The redis_message_id: what holds a throttle slot, shared by the delivery's attempts."""
        return self.owner.rsplit(":", 1)[0]


class Leases:
    """Runs are held from the moment they take their lease until their success or give-back is
    written (in the consumer's ack, which may wait for Redis): renewal covers that wait too."""

    def __init__(self, default_lease_ms: int) -> None:
        self.default_lease_ms = default_lease_ms
        self._held: dict[int, HeldRun] = {}
        self._lock = threading.Lock()
        self.heartbeat_key = ""
        self.worker_id = ""
        self.next_renewal_at = 0.0  # monotonic time the renewal thread will next run
        self.wake_renewal: Callable[[], None] = lambda: None

    def hold(self, message: Any, run: HeldRun) -> int:
        """Hold a run; the key releases it. Renewal is woken if this lease ends before it would run."""
        key = id(message)
        with self._lock:
            self._held[key] = run
        if time.monotonic() + run.plan.lease_ms / 3000 < self.next_renewal_at:
            self.wake_renewal()
        return key

    def held(self, message: Any) -> tuple[int, HeldRun] | None:
        with self._lock:
            run = self._held.get(id(message))
        return None if run is None else (id(message), run)

    def release(self, key: int) -> None:
        with self._lock:
            self._held.pop(key, None)

    def renewal_interval_s(self) -> float:
        with self._lock:
            shortest = min((run.plan.lease_ms for run in self._held.values()), default=self.default_lease_ms)
        interval = min(shortest, self.default_lease_ms) / 3000
        self.next_renewal_at = time.monotonic() + interval
        return interval

    def renew(self, script: ScriptCall) -> int:
        """Extend every held lease and throttle slot; the number of leases found lost."""
        with self._lock:
            runs = list(self._held.values())
        if not runs and not self.heartbeat_key:
            return 0
        guard_keys: list[str] = []
        guard_args: list[Any] = []
        slot_keys: list[str] = []
        slot_args: list[Any] = []
        for run in runs:
            for key in run.plan.guard_keys:
                guard_keys.append(key)
                guard_args += [run.owner, run.plan.lease_ms]
            if run.plan.throttle_key:
                slot_keys.append(run.plan.throttle_key + ":running")
                slot_args += [run.delivery, run.plan.lease_ms]
        gc_ms = max((run.plan.gc_ms for run in runs), default=self.default_lease_ms * 20)
        keys = [self.heartbeat_key, *guard_keys, *slot_keys]
        args = [self.worker_id, gc_ms, len(guard_keys), current_millis(), *guard_args, *slot_args]
        return int(script(keys=keys, args=args))
