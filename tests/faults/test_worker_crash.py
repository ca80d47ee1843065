"""A worker process SIGKILLed under `make run` while 200 customers write: restarted, everyone answered once.

The kill lands on a dramatiq worker process mid-load (replies in flight). `zapq.run` must bring
the worker back; the dead process's messages come back after the heartbeat timeout.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable

from tests.faults.harness import FaultRig
from tests.support.waiting import wait_until

FAULT_AT_S = 5.0  # bursts closed after the 1 s window are being answered


def test_a_worker_killed_under_make_run_is_restarted_and_loses_and_doubles_no_reply(
    start_rig: Callable[[str], FaultRig],
) -> None:
    rig = start_rig("worker_killed")
    assert rig.service is not None
    rig.start_load()
    rig.sleep_until(FAULT_AT_S)
    before = rig.service.worker_processes()
    victim = before[0]

    os.kill(victim, signal.SIGKILL)
    killed_at = time.monotonic()

    restarted = False
    try:
        wait_until(
            lambda: set(rig.service.worker_processes()) - set(before) if rig.service else False,
            timeout=60,
            what="the supervisor to start a new worker process",
        )
        restarted = True
    except AssertionError:
        pass
    outcome = rig.outcome_after(killed_at)
    outcome.extra["worker_restarted"] = "yes" if restarted and rig.service.alive else "no"
    rig.report(outcome)
    assert restarted, "zapq.run did not restart the killed worker"
