"""`periodiq tests.support.minute_scans:boot`: zapq's scheduler, with the re-engagement scan every minute.

The hourly schedule would make a test wait up to an hour for its tick; nothing else differs.
"""

from __future__ import annotations

from periodiq import cron

import actors


def boot() -> None:
    actors.boot()
    actors.reengagement.scan_reengagement.options["periodic"] = cron("* * * * *")
