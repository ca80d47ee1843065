"""Fixtures for middleware tests: per-test actors on the real Redis broker."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import dramatiq
import pytest

_names = itertools.count()


@pytest.fixture
def declare(broker) -> Callable[..., Any]:  # type: ignore[no-untyped-def]
    """Declare an actor with a unique name, as Dramatiq's own tests do, on the project's broker."""

    def declare_actor(fn: Callable[..., Any] | None = None, **options: Any) -> Any:
        def wrap(function: Callable[..., Any]) -> Any:
            name = f"{function.__name__}_{next(_names)}"
            return dramatiq.actor(function, actor_name=name, broker=broker, queue_name="default", **options)

        return wrap(fn) if fn is not None else wrap

    return declare_actor
