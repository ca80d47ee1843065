"""Send pacing shared by every worker: per business number throughput and per recipient spacing.

Meta caps a business number at about 80 messages per second (error 130429) and a number→recipient
pair at about one message every 6 s on average (error 131056). Pacing below those limits is cheaper
than retrying after them, and all worker processes must share one budget, so it lives in Redis.

Each limit is a GCRA (generic cell rate algorithm): one key holding the "theoretical arrival time"
of the next allowed message, in microseconds of Redis server time. A single Lua script checks both
limits and, only when both allow it, advances both; a refused call consumes nothing. Keys expire
as soon as they no longer restrict anything.

The keys are `{ns}:pace:number:{phone_number_id}` and
`{ns}:pace:recipient:{phone_number_id}:{recipient}` (`zapq/keyspace.py`), under the deployment's
REDIS_NAMESPACE; the script is `lua/acquire_pace.lua`. They used to be `zapq:pace:...`, outside
the namespace: the deploy that moved them started pacing afresh, so the first send of each number
and recipient after it could go up to one interval early, which Meta's limits absorb.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from pathlib import Path

import redis
from redis.commands.core import Script

from zapq.keyspace import DEFAULT_NAMESPACE, pace_number_key, pace_recipient_key
from zapq.whatsapp.errors import RetryableSendError

ACQUIRE_SCRIPT_PATH = Path(__file__).parent / "lua" / "acquire_pace.lua"

DEFAULT_MAX_MESSAGES_PER_SECOND = 80.0
DEFAULT_NUMBER_BURST = 1
DEFAULT_RECIPIENT_MIN_INTERVAL_MS = 1000
DEFAULT_RECIPIENT_BURST = 1


class Pacer:
    """Decides when the next message from a business number to a recipient may go.

    :param max_messages_per_second: throughput of one business number (Meta's default is 80).
    :param number_burst: how many messages a number may send back to back before pacing applies.
    :param recipient_min_interval_ms: minimum spacing of messages to one recipient.
    :param recipient_burst: how many messages one recipient may get back to back (e.g. a reply
        split in parts) before the spacing applies.
    :param namespace: the deployment's REDIS_NAMESPACE, under which the keys live.
    """

    def __init__(
        self,
        *,
        max_messages_per_second: float = DEFAULT_MAX_MESSAGES_PER_SECOND,
        number_burst: int = DEFAULT_NUMBER_BURST,
        recipient_min_interval_ms: int = DEFAULT_RECIPIENT_MIN_INTERVAL_MS,
        recipient_burst: int = DEFAULT_RECIPIENT_BURST,
        namespace: str = DEFAULT_NAMESPACE,
    ) -> None:
        if max_messages_per_second <= 0:
            raise ValueError("max_messages_per_second must be positive")
        if recipient_min_interval_ms < 0:
            raise ValueError("recipient_min_interval_ms must not be negative")
        if number_burst < 1 or recipient_burst < 1:
            raise ValueError("bursts must be at least 1")
        self.number_interval_us = round(1_000_000 / max_messages_per_second)
        self.number_tolerance_us = (number_burst - 1) * self.number_interval_us
        self.recipient_interval_us = recipient_min_interval_ms * 1000
        self.recipient_tolerance_us = (recipient_burst - 1) * self.recipient_interval_us
        self.namespace = namespace
        self._script: Script | None = None

    def acquire(self, client: redis.Redis, phone_number_id: str, recipient: str) -> float:
        """Take a slot for one message; return 0.0 when it may go now, else seconds to wait first.

        A refused call takes nothing, so the caller sleeps the returned time (or retries the
        message later) and calls again.
        """
        if self._script is None:
            self._script = client.register_script(ACQUIRE_SCRIPT_PATH.read_text())
        keys = [
            pace_number_key(self.namespace, phone_number_id),
            pace_recipient_key(self.namespace, phone_number_id, recipient),
        ]
        args = [
            self.number_interval_us,
            self.number_tolerance_us,
            self.recipient_interval_us,
            self.recipient_tolerance_us,
        ]
        wait_us = int(self._script(keys=keys, args=args, client=client))
        return wait_us / 1_000_000


#: Longest a send sleeps for the pacer in all; a longer wait retries the whole message later instead.
MAX_PACING_WAIT_S = 30.0


def paced(
    pacer: Pacer, client: redis.Redis, phone_number_id: str, recipient: str, send: Callable[[], str]
) -> Callable[[], str]:
    """`send` once the shared pacer allows it: short waits are slept, a long one raises RetryableSendError."""

    @functools.wraps(send)
    def paced_send() -> str:
        waited = 0.0
        while wait := pacer.acquire(client, phone_number_id, recipient):
            if waited + wait > MAX_PACING_WAIT_S:
                raise RetryableSendError("pacing: this number or recipient is saturated", retry_after_s=wait)
            time.sleep(wait)
            waited += wait
        return send()

    return paced_send
