"""`make bench`: every benchmark, in one run."""

from __future__ import annotations

import sys

from bench import ingest, middleware_throughput


def main() -> int:
    middleware_throughput.main()
    ingest.main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
