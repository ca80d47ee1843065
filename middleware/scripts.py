"""The Lua scripts, each prefixed with the shared `common.lua` and registered once per client."""

from __future__ import annotations

from pathlib import Path

import redis
from redis.commands.core import Script

LUA_DIR = Path(__file__).parent / "lua"
SCRIPT_NAMES = ("before_process", "after_success", "after_failure", "renew_leases", "flush_due")


def load_scripts(client: redis.Redis) -> dict[str, Script]:
    common = (LUA_DIR / "common.lua").read_text()
    return {
        name: client.register_script(common + "\n" + (LUA_DIR / f"{name}.lua").read_text())
        for name in SCRIPT_NAMES
    }
