"""`make worker` and `make scheduler` check their settings here first, in one process and one line.

Dramatiq calls `actors:boot` in each of its worker processes, so a bad setting found there is
reported once per process, among dramatiq's own lines. Checked here before dramatiq or periodiq
starts, it is one line naming the variable and exit code 2, with any embedded server this check
started stopped again. On success the servers it started are left running for the worker or
scheduler to reuse, as they would have started them themselves.

`python -m zapq.preflight worker|scheduler`
"""

from __future__ import annotations

import sys

from zapq.runtime import boot, stop_started_services
from zapq.settings import SettingsError
from zapq.startup_checks import check_port_free

PARTS = ("worker", "scheduler")


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[1] not in PARTS:
        print(f"usage: python -m zapq.preflight {'|'.join(PARTS)}", file=sys.stderr)
        return 2
    try:
        settings = boot()
        if argv[1] == "worker":
            check_port_free("METRICS_PORT", "METRICS_HOST", settings.metrics_host, settings.metrics_port)
    except SettingsError as error:
        stop_started_services()
        print(f"zapq: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
