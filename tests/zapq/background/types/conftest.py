"""Settings the task types read, set per test through the environment as a deployment would."""

from __future__ import annotations

from collections.abc import Callable

import pytest

import zapq.background.types  # noqa: F401  (registers the five types in TASK_TYPES)


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Set environment variables for this test's settings (and forget the cached ones)."""
    from zapq.settings import get_settings

    def set_variables(**variables: str) -> None:
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()

    yield set_variables
    get_settings.cache_clear()
