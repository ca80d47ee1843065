"""PostgreSQL stopped while 200 customers write, then started again: everyone answered, once.

The web takes webhooks with Redis alone, so every message is accepted during the outage; the
bursts wait (never dead-lettered) until PostgreSQL is back.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from tests.faults.harness import FaultRig

FAULT_AT_S = 3.0  # after the first customer wrote: the load's bursts straddle the stop


def stop_postgres_while_customers_write(rig: FaultRig, outage_s: float) -> None:
    rig.start_load()
    rig.sleep_until(FAULT_AT_S)
    rig.postgres.stop()
    time.sleep(outage_s)
    rig.postgres.start()
    rig.report(rig.outcome_after(time.monotonic()))


def test_postgres_stopped_for_20_s_loses_and_doubles_no_reply(start_rig: Callable[[str], FaultRig]) -> None:
    stop_postgres_while_customers_write(start_rig("postgres_stopped_20s"), outage_s=20.0)


def test_postgres_stopped_for_5_minutes_loses_and_doubles_no_reply(
    start_rig: Callable[[str], FaultRig],
) -> None:
    stop_postgres_while_customers_write(start_rig("postgres_stopped_5min"), outage_s=300.0)
