"""A worker process frozen mid-load (a stalled host), then SIGKILLed: everyone answered once.

SIGSTOP holds the process's fetched messages and its runs' leases but stops their renewal and its
heartbeat. Its messages come back to the live workers after the heartbeat timeout, while the leases
it took may still be valid: they must run once, after the leases end. (A host whose network is cut
never even closes its connections: tests/cluster cuts one.)
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable

from tests.faults.harness import FaultRig
from tests.support.waiting import wait_until

FAULT_AT_S = 5.0  # bursts closed after the 1 s window are being answered
FROZEN_S = 6.0  # past the 2 s heartbeat timeout and the 3 s lease


def test_a_worker_frozen_then_killed_loses_and_doubles_no_reply(
    start_rig: Callable[[str], FaultRig],
) -> None:
    rig = start_rig("worker_frozen")
    assert rig.service is not None
    rig.start_load()
    rig.sleep_until(FAULT_AT_S)
    before = rig.service.worker_processes()
    victim = before[0]

    os.kill(victim, signal.SIGSTOP)
    time.sleep(FROZEN_S)
    os.kill(victim, signal.SIGKILL)
    killed_at = time.monotonic()

    wait_until(
        lambda: set(rig.service.worker_processes()) - set(before) if rig.service else False,
        timeout=60,
        what="the supervisor to start a new worker process",
    )
    rig.report(rig.outcome_after(killed_at))
