"""The Cloud API answers 500 for 30 s, then hangs for 30 s, then is healthy: everyone answered, once.

While it hangs, a send is taken (Meta may have delivered it: it counts as a reply) and its answer
held past zapq's 10 s client timeout. The stand-in posts the `sent` status webhook of every other
hung send and drops the rest. docs/operations.md's limit: a send in doubt with no status within the adopt
window (60 s) is sent again, so each dropped status may cost one double, counted apart as
`doubled_in_doubt`; every other double is a failure.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from tests.faults.harness import FaultRig
from tests.support.cloud_api_standin import Mode

FAULT_AT_S = 2.0  # the first bursts close after the 1 s window: most meet the 500s
FAILING_S = 30.0
HANGING_S = 30.0


def test_cloud_api_failing_then_hanging_loses_no_reply_and_doubles_only_sends_in_doubt(
    start_rig: Callable[[str], FaultRig],
) -> None:
    rig = start_rig("cloud_api_500_then_hang")
    rig.start_load()
    rig.sleep_until(FAULT_AT_S)

    rig.cloud_api.mode = Mode.FAILING
    time.sleep(FAILING_S)
    rig.cloud_api.mode = Mode.HANGING
    time.sleep(HANGING_S)
    rig.cloud_api.mode = Mode.HEALTHY

    outcome = rig.outcome_after(time.monotonic())
    hung = [delivery for delivery in rig.cloud_api.deliveries() if delivery.hung]
    outcome.extra["hung_sends"] = str(len(hung))
    outcome.extra["statuses_dropped"] = str(sum(not delivery.status_posted for delivery in hung))
    outcome.extra["answered_500"] = str(rig.cloud_api.answers_by_mode[Mode.FAILING])
    rig.report(outcome)
