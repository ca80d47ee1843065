"""Task types of the background-task benchmarks; their worker is `dramatiq bench.background_tasks:boot`.

`bench_noop` returns at once; `bench_ticker` waits `start_after_s`, then reports progress `ticks`
times, `interval_s` apart.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from actors import boot  # noqa: F401 (the entry point)
from zapq.background.handlers import TaskContext, register


@register("bench_noop")
def noop(context: TaskContext, payload: Mapping[str, Any]) -> dict[str, Any]:
    return {}


@register("bench_ticker")
def ticker(context: TaskContext, payload: Mapping[str, Any]) -> dict[str, Any]:
    ticks = int(payload.get("ticks", 5))
    time.sleep(float(payload.get("start_after_s", 0)))
    for tick in range(1, ticks + 1):
        time.sleep(float(payload.get("interval_s", 0.5)))
        context.progress(tick / ticks, f"tick {tick}")
    return {"ticks": ticks}
