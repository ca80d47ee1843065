"""The options each feature reads, and how a key is derived from a message.

As in Dramatiq's own middleware, an option is read from the message first, then
the actor, then the middleware default.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from dramatiq import Actor
from dramatiq.broker import MessageProxy
from dramatiq.message import Message

from middleware.errors import InvalidFlowOption

#: (args, kwargs) -> key. A key function must be deterministic across processes.
KeyFunction = Callable[[tuple[Any, ...], dict[str, Any]], str]
KeySource = str | KeyFunction
AnyMessage = Message[Any] | MessageProxy

ACTOR_OPTIONS = frozenset(
    {
        "idempotency_key",
        "idempotency_ttl",
        "lease_ms",
        "keep_key_on_failure",
        "debounce",
        "debounce_key",
        "debounce_window",
        "debounce_max_wait",
        "debounce_max_items",
        "dedup",
        "dedup_fields",
        "dedup_key",
        "throttle",
        "throttle_key",
        "throttle_limit",
        "throttle_period",
        "throttle_mode",
    }
)

THROTTLE_MODES = ("drop", "delay")

DAY_MS = 24 * 3600 * 1000
#: Whole-number options in milliseconds (or counts), with the range each accepts. Redis rejects a
#: zero or negative expiry, and a value past these bounds is a typo, never a wish.
INTEGER_RANGES: dict[str, tuple[int, int]] = {
    "idempotency_ttl": (1_000, 366 * DAY_MS),
    "lease_ms": (100, DAY_MS),
    "debounce_window": (1, DAY_MS),
    "debounce_max_wait": (1, DAY_MS),
    "debounce_max_items": (1, 100_000),
    "dedup": (1, 366 * DAY_MS),
    "throttle_limit": (1, 1_000_000_000),
    "throttle_period": (1, 366 * DAY_MS),
}


def validate_options(owner: str, options: Mapping[str, Any]) -> None:
    """Refuse an option value the scripts could not use, naming the option (InvalidFlowOption)."""
    for name, (low, high) in INTEGER_RANGES.items():
        value = options.get(name)
        if value is None or (name == "dedup" and value is False):
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InvalidFlowOption(
                f"{owner}: {name} must be a whole number from {low} to {high}, not {value!r}"
            )
    mode = options.get("throttle_mode")
    if mode is not None and mode not in THROTTLE_MODES:
        raise InvalidFlowOption(f"{owner}: throttle_mode must be one of {THROTTLE_MODES}, not {mode!r}")
    keep = options.get("keep_key_on_failure")
    if keep is not None and not isinstance(keep, bool):
        raise InvalidFlowOption(f"{owner}: keep_key_on_failure must be True or False, not {keep!r}")
    for name in ("idempotency_key", "debounce", "dedup_key", "throttle"):
        source = options.get(name)
        if source is not None and not (callable(source) or (isinstance(source, str) and source)):
            raise InvalidFlowOption(f"{owner}: {name} must be an argument name or a function, not {source!r}")


def read_option(message: AnyMessage, actor: Actor[Any, Any], name: str, default: Any) -> Any:
    if name in message.options:
        return message.options[name]
    return actor.options.get(name, default)


def key_from_source(source: KeySource, actor: Actor[Any, Any], message: AnyMessage) -> str:
    """A key function's result, or the value of the named argument.

    A name is looked up in kwargs, then among the actor's positional parameters, then
    in a dict passed as the single positional argument (the shape debounced items take).
    """
    args, kwargs = message.args, message.kwargs
    if callable(source):
        return str(source(tuple(args), dict(kwargs)))
    if source in kwargs:
        return str(kwargs[source])
    parameters = _parameter_names(actor.fn)
    if source in parameters and parameters.index(source) < len(args):
        return str(args[parameters.index(source)])
    if len(args) == 1 and isinstance(args[0], dict) and source in args[0]:
        return str(args[0][source])
    raise KeyError(f"{actor.actor_name}: message {message.message_id} has no argument {source!r} to key on")


@lru_cache(maxsize=1024)
def _parameter_names(function: Callable[..., Any]) -> list[str]:
    return list(inspect.signature(function).parameters)


def content_hash(actor_name: str, message: AnyMessage, fields: Sequence[str] | None) -> str:
    """SHA-256 of the actor name plus a canonical encoding of the arguments (or the named fields)."""
    if fields:
        payload: Any = {}
        source = message.args[0] if len(message.args) == 1 and isinstance(message.args[0], dict) else {}
        for field in fields:
            payload[field] = message.kwargs.get(field, source.get(field))
    else:
        payload = {"args": list(message.args), "kwargs": message.kwargs}
    canonical = json.dumps([actor_name, payload], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def scheduled_slot_ms(scheduled_at: str) -> int:
    """The cron slot (the minute) of periodiq's `scheduled_at`, as epoch ms.

    periodiq stamps a tick with the second it woke, and a scheduler started or woken late
    stamps the same minute with another second; the minute is what a cron entry means.
    Epoch ms, so schedulers in different time zones agree.
    """
    seconds = datetime.fromisoformat(scheduled_at).timestamp()
    return int(seconds // 60 * 60 * 1000)
