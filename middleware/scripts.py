"""The Lua scripts, each prefixed with the shared `common.lua` and registered once per client.

The three per-message scripts are group-committed together (`middleware.batching`); the
background ones (lease renewal, flushing) run alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import redis

from middleware.batching import BatchedScripts

LUA_DIR = Path(__file__).parent / "lua"
PER_MESSAGE_SCRIPTS = ("before_process", "after_success", "after_failure")
BACKGROUND_SCRIPTS = ("renew_leases", "flush_due")


class ScriptCall(Protocol):
    def __call__(self, *, keys: list[Any], args: list[Any]) -> Any: ...


class LoadedScripts(dict[str, ScriptCall]):
    """The scripts by name; `group` is the group-committed one, for callers that pipeline it."""

    def __init__(self, group: BatchedScripts) -> None:
        super().__init__()
        self.group = group


def load_scripts(client: redis.Redis) -> LoadedScripts:
    common = (LUA_DIR / "common.lua").read_text()
    group = BatchedScripts(
        client, common, {name: (LUA_DIR / f"{name}.lua").read_text() for name in PER_MESSAGE_SCRIPTS}
    )
    scripts = LoadedScripts(group)
    for name in PER_MESSAGE_SCRIPTS:
        scripts[name] = group[name]
    for name in BACKGROUND_SCRIPTS:
        scripts[name] = client.register_script(common + "\n" + (LUA_DIR / f"{name}.lua").read_text())
    return scripts
