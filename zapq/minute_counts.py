"""Per-minute counts in Redis, where the web's console can read what every worker did.

The workers' Prometheus counters live in each worker's memory (and its metrics directory), out of the
web process's reach, and Prometheus may not be deployed. So each worker process also tallies, per
minute: messages processed, failed (an attempt that raised) and dead-lettered per queue, runs per
actor, and FlowControl's decisions per actor and outcome. The tally is kept in memory (a dict
increment on the message path, no Redis call) and added to one hash per minute,
`{ns}:counts:{minute_ms}`, by a thread that flushes every `FLUSH_INTERVAL_S`: one pipeline a second
per worker process, whatever the load. The hashes expire after `KEEP_MINUTES`.

Every field names a queue of `zapq.queues.QUEUES`, a declared actor, or an outcome of
`middleware.metrics.OUTCOMES` (anything else is counted as `other`), so the hash stays small and
no message chooses its fields.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from typing import Any

import redis
from dramatiq.broker import Broker, MessageProxy
from dramatiq.common import current_millis, q_name
from dramatiq.middleware import Middleware

from middleware import metrics as flow_metrics
from zapq.keyspace import minute_counts_key
from zapq.queues import QUEUES

logger = logging.getLogger(__name__)

MINUTE_MS = 60_000
FLUSH_INTERVAL_S = 1.0
#: The console shows 15 minutes; a few more cover clocks that differ between hosts.
KEEP_MINUTES = 20
OTHER = "other"
MAX_CACHED_FIELDS = 10_000

# Fields of a minute's hash; the reader splits them back on "|" (names never contain it).
DONE, FAILED, DEAD, RAN, FLOW = "done", "failed", "dead", "ran", "flow"


def minute_of(now_ms: int) -> int:
    return now_ms - now_ms % MINUTE_MS


class MinuteCounts(Middleware):
    """Tallies each worker process's work per minute and flushes it to Redis once a second."""

    def __init__(self, *, namespace: str, flush_interval_s: float = FLUSH_INTERVAL_S) -> None:
        self.namespace = namespace
        self.flush_interval_s = flush_interval_s
        self._events: deque[tuple[int, tuple[str, ...], int]] = deque()
        # What the flushing thread took from `_events` and Redis has not taken yet; only it touches this.
        self._tally: dict[tuple[int, str], int] = {}
        # (queue name, actor name, failed) -> the fields a run adds to; a run of the message path is
        # then one clock read and one append.
        self._run_fields: dict[tuple[str, str, bool], tuple[str, str]] = {}
        self._actors: frozenset[str] = frozenset()
        self._broker: Broker | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def count(self, *fields: str, amount: int = 1) -> None:
        # A deque's append is atomic: the message path takes no lock (worker threads waiting on one
        # another's lock under the GIL cost a fifth of a bare worker's throughput when this used one).
        self._events.append((minute_of(current_millis()), fields, amount))

    def after_worker_boot(self, broker: Broker, worker: Any) -> None:
        self._actors = frozenset(broker.actors)
        self._broker = broker  # its client, read at each flush: bind_broker may replace it
        self._stop.clear()
        flow_metrics.add_count_listener(self._count_decision)
        self._thread = threading.Thread(target=self._flush_forever, name="zapq-minute-counts", daemon=True)
        self._thread.start()

    def before_worker_shutdown(self, broker: Broker, worker: Any) -> None:
        flow_metrics.remove_count_listener(self._count_decision)

    def after_worker_shutdown(self, broker: Broker, worker: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.flush()

    def after_process_message(
        self, broker: Broker, message: MessageProxy, *, result: Any | None = None,
        exception: BaseException | None = None,
    ) -> None:  # fmt: skip
        key = (message.queue_name, message.actor_name, exception is not None)
        fields = self._run_fields.get(key)
        if fields is None:
            fields = (f"{FAILED if key[2] else DONE}|{self._queue(message)}", f"{RAN}|{self._actor(key[1])}")
            if len(self._run_fields) < MAX_CACHED_FIELDS:
                self._run_fields[key] = fields
        self.count(*fields)

    def after_nack(self, broker: Broker, message: MessageProxy) -> None:
        self.count(f"{DEAD}|{self._queue(message)}")

    def _count_decision(self, actor_name: str, outcome: str, amount: int) -> None:
        outcome = outcome if outcome in flow_metrics.OUTCOMES else OTHER
        self.count(f"{FLOW}|{self._actor(actor_name)}|{outcome}", amount=amount)

    def _queue(self, message: MessageProxy) -> str:
        queue = q_name(message.queue_name)
        return queue if queue in QUEUES else OTHER

    def _actor(self, actor_name: str) -> str:
        return actor_name if actor_name in self._actors else OTHER

    def _flush_forever(self) -> None:
        while not self._stop.wait(self.flush_interval_s):
            self.flush()

    def flush(self) -> None:
        """Add the tally to Redis; kept for the next flush when Redis does not answer."""
        tally = self._tally
        while self._events:
            minute, fields, amount = self._events.popleft()
            for field in fields:
                tally[(minute, field)] = tally.get((minute, field), 0) + amount
        client: redis.Redis | None = getattr(self._broker, "client", None)
        if not tally or client is None:
            return
        # MULTI: a minute gets the whole tally or none of it, so a retry after an error never counts twice.
        pipeline = client.pipeline(transaction=True)
        for (minute, field), amount in tally.items():
            pipeline.hincrby(minute_counts_key(self.namespace, minute), field, amount)
        for minute in {minute for minute, _ in tally}:
            pipeline.pexpire(minute_counts_key(self.namespace, minute), KEEP_MINUTES * MINUTE_MS)
        try:
            pipeline.execute()
        except redis.RedisError as error:
            logger.debug("minute counts not flushed, kept for the next try: %s", error)
            horizon = minute_of(current_millis()) - KEEP_MINUTES * MINUTE_MS
            self._tally = {key: amount for key, amount in tally.items() if key[0] > horizon}
            return
        self._tally = {}


class MinuteTotals:
    """What the minute hashes of a span say, one list entry per minute, oldest first."""

    def __init__(self, minutes: list[int], hashes: list[dict[bytes, bytes]]) -> None:
        self.minutes = minutes
        self.by_queue: dict[str, dict[str, list[int]]] = {kind: {} for kind in (DONE, FAILED, DEAD)}
        self.runs: dict[str, int] = {}
        self.decisions: dict[str, dict[str, int]] = {}
        for index, fields in enumerate(hashes):
            for raw_field, raw_amount in fields.items():
                parts, amount = raw_field.decode().split("|"), int(raw_amount)
                if parts[0] in self.by_queue and len(parts) == 2:
                    series = self.by_queue[parts[0]].setdefault(parts[1], [0] * len(minutes))
                    series[index] += amount
                elif parts[0] == RAN and len(parts) == 2:
                    self.runs[parts[1]] = self.runs.get(parts[1], 0) + amount
                elif parts[0] == FLOW and len(parts) == 3:
                    outcomes = self.decisions.setdefault(parts[1], {})
                    outcomes[parts[2]] = outcomes.get(parts[2], 0) + amount

    def series(self, kind: str, queue: str) -> list[int]:
        return self.by_queue[kind].get(queue, [0] * len(self.minutes))


def span_minutes(now_ms: int, minutes: int) -> list[int]:
    """The last `minutes` minutes, oldest first, the current (partial) one last."""
    current = minute_of(now_ms)
    return [current - (minutes - 1 - index) * MINUTE_MS for index in range(minutes)]
