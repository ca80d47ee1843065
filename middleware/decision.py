"""The decision `lua/before_process.lua` returns, decoded once into one typed value."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Outcome = Literal["run", "duplicate", "wait", "merged", "throttled", "missing"]


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    guard_index: int = 0  # duplicate and wait: which guard (0-based) decided
    wait_ms: int = 0  # wait and throttled: how long until the key or a slot frees
    parked: bool = False  # wait and throttled: the script parked the message in Redis
    expired_leases: int = 0  # run: leases of crashed runs taken over
    fence: int = 0  # run: this run's fencing token
    batch_id: str = ""  # merged: the batch the message joined
    flushed: bool = False  # merged: the window flushed at once (max_items)
    items: list[bytes] = field(default_factory=list)  # run of a batch: its entries

    @property
    def acked_by_script(self) -> bool:
        """Whether the deciding script already acked the message (or parked it) for good."""
        return self.outcome in ("duplicate", "merged") or self.parked


def decode_decision(reply: list[Any]) -> Decision:
    outcome = _text(reply[0])
    if outcome == "run":
        items = list(reply[3]) if len(reply) > 3 else []
        return Decision("run", expired_leases=int(reply[1]), fence=int(reply[2]), items=items)
    if outcome == "duplicate":
        return Decision("duplicate", guard_index=int(reply[1]) - 1)
    if outcome == "wait":
        return Decision(
            "wait", guard_index=int(reply[1]) - 1, wait_ms=int(reply[2]), parked=bool(int(reply[3]))
        )
    if outcome == "merged":
        return Decision("merged", batch_id=_text(reply[1]), flushed=bool(int(reply[2])))
    if outcome == "throttled":
        return Decision("throttled", wait_ms=max(0, int(reply[2])), parked=bool(int(reply[3])))
    if outcome == "missing":
        return Decision("missing")
    raise ValueError(f"unknown flow-control decision {outcome!r}")


def _text(value: Any) -> Any:
    return value.decode() if isinstance(value, bytes) else str(value)
