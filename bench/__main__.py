"""`make bench`: every benchmark, in one run; `python -m bench NAME...` runs only those.

The embedded Redis and PostgreSQL that the run started (under var/bench) are stopped at the
end, also when a benchmark fails or the run is interrupted; servers it merely reused are left.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from bench import (
    analytics,
    background,
    capacity,
    duplicates,
    ingest,
    interest_matching,
    middleware_throughput,
    redis_memory,
    semantic_search,
)

BENCHMARKS: dict[str, Callable[[], None]] = {
    "middleware_throughput": middleware_throughput.main,
    "ingest": ingest.main,
    "duplicates": duplicates.main,
    "redis_memory": redis_memory.main,
    "analytics": analytics.main,
    "semantic_search": semantic_search.main,
    "interest_matching": interest_matching.main,
    "background": background.main,
    "capacity": capacity.main,
}


def main(argv: list[str]) -> int:
    usage = f"usage: python -m bench [{' | '.join(BENCHMARKS)}]...  (no name: all, in this order)"
    if any(name in ("-h", "--help") for name in argv):
        print(usage)
        return 0
    unknown = [name for name in argv if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark: {', '.join(unknown)}\n{usage}", file=sys.stderr)
        return 2
    try:
        for name in argv or BENCHMARKS:
            BENCHMARKS[name]()
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130
    finally:
        stop_started_servers()
    return 0


def stop_started_servers() -> None:
    from zapq.runtime import boot, booted_services

    if boot.cache_info().currsize:  # never boot just to stop
        booted_services().stop_started()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
