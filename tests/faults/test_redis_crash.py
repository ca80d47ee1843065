"""Redis SIGKILLed while 200 customers write, restarted on its port and data dir: everyone answered, once.

The restarted Redis replays its AOF (fsync once a second, as the embedded one). Webhooks answered
503 while it was down are retried by the load, as Meta retries them.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from tests.faults.harness import FaultRig

FAULT_AT_S = 4.0  # bursts are being accepted and the first replies sent
DOWN_S = 5.0


def test_redis_killed_and_restarted_loses_and_doubles_no_reply(start_rig: Callable[[str], FaultRig]) -> None:
    rig = start_rig("redis_killed_restarted")
    rig.start_load()
    rig.sleep_until(FAULT_AT_S)

    rig.redis.kill()
    time.sleep(DOWN_S)
    rig.redis.restart()
    rig.configure_redis_like_the_embedded_one()

    rig.report(rig.outcome_after(time.monotonic()))
