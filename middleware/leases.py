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
from dataclasses import dataclass
from typing import Any

from dramatiq.common import current_millis

from middleware.planning import Plan
from middleware.scripts import ScriptCall


@dataclass
class HeldRun:
    rid: str  # the delivery: Dramatiq's redis_message_id
    message_id: str
    fence: int
    plan: Plan


class Leases:
    def __init__(self, default_lease_ms: int) -> None:
        self.default_lease_ms = default_lease_ms
        self._held: dict[int, HeldRun] = {}
        self._lock = threading.Lock()
        self.heartbeat_key = ""
        self.worker_id = ""

    def hold(self, message: Any, run: HeldRun) -> None:
        with self._lock:
            self._held[id(message)] = run

    def release(self, message: Any) -> HeldRun | None:
        with self._lock:
            return self._held.pop(id(message), None)

    def holds_delivery(self, rid: str) -> bool:
        """Whether a run of this delivery is in progress in this process (a duplicate copy must wait)."""
        with self._lock:
            return any(run.rid == rid for run in self._held.values())

    def renewal_interval_s(self) -> float:
        with self._lock:
            shortest = min((run.plan.lease_ms for run in self._held.values()), default=self.default_lease_ms)
        return min(shortest, self.default_lease_ms) / 3000

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
                guard_args += [run.rid, run.plan.lease_ms]
            if run.plan.throttle_key:
                slot_keys.append(run.plan.throttle_key + ":running")
                slot_args += [run.message_id, run.plan.lease_ms]
        gc_ms = max((run.plan.gc_ms for run in runs), default=self.default_lease_ms * 20)
        keys = [self.heartbeat_key, *guard_keys, *slot_keys]
        args = [self.worker_id, gc_ms, len(guard_keys), current_millis(), *guard_args, *slot_args]
        return int(script(keys=keys, args=args))
