"""The options each feature reads, and how a key is derived from a message.

As in Dramatiq's own middleware, an option is read from the message first, then
the actor, then the middleware default.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from dramatiq import Actor
from dramatiq.broker import MessageProxy
from dramatiq.message import Message

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


def scheduled_tick_ms(scheduled_at: str) -> int:
    """periodiq's `scheduled_at` as epoch ms, so schedulers in different time zones agree."""
    return int(datetime.fromisoformat(scheduled_at).timestamp() * 1000)
