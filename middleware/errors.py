"""Exceptions of the flow-control middleware.

All are MiddlewareErrors because Dramatiq's `emit_before` logs and swallows any
other exception, which would let a duplicate through or run a message unguarded.
"""

from __future__ import annotations

from dramatiq.middleware import MiddlewareError


class FlowControlUnavailable(MiddlewareError):
    """Redis could not decide; the message fails this attempt and is retried, never run unguarded."""


class UnkeyableMessage(MiddlewareError):
    """A message lacks what its actor's key options need; it fails (and is retried, then dead-lettered)."""


class InvalidFlowOption(MiddlewareError, ValueError):
    """An option value the middleware cannot use; raised when the actor is declared or the message sent."""


class BatchItemsMissing(MiddlewareError):
    """A debounce batch whose items are gone (expired, flushed away): it fails, never runs empty."""


class DuplicateMessage(MiddlewareError):
    """Raised by `send()` when an identical message already ran within the dedup window."""

    def __init__(self, actor_name: str, guard_key: str, record: str) -> None:
        super().__init__(f"{actor_name}: duplicate of a message already processed ({guard_key})")
        self.actor_name = actor_name
        self.guard_key = guard_key
        self.record = record
