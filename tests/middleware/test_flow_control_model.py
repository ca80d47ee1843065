"""Flow control checked against a model after every step, in whatever order hypothesis picks.

A hypothesis state machine drives the project's FlowControl middleware against the real
session Redis, in-process and one hook at a time: it sends messages, fetches real
deliveries with a real consumer, runs the before/after hooks on stand-ins for worker
threads (each its own thread, so FlowControl's thread-locals behave as in a worker), acks
at once or later (as Dramatiq's consumer thread does), fails runs the way Retries does or
for good, crashes runs, lets Dramatiq's maintenance redeliver them, renews leases, runs the
flow-control tick and lets time pass. After every step the whole Redis state is compared
with a small model, and these invariants are checked:

* at most one successful completion is recorded per key (a success whose lease another run
  took is refused and counted as lease_lost);
* nothing vanishes: every message body in Redis is on its queue, unacked, parked as a waiter
  or for a throttle slot, or dead-lettered, and every message sent has either finished
  (succeeded, skipped as a duplicate of a finished key, dropped by its throttle,
  dead-lettered) or still has a delivery somewhere;
* a run starts only when no other run with a live lease holds its key or its throttle slot;
* a key whose run failed for good is released (kept as F with keep_key_on_failure);
* a throttle slot is held by a delivery (Dramatiq's redis_message_id): a redelivery after a
  crash finds its own, a Retries copy of the same message needs a free slot of its own; the
  slot comes back after a failure, and after a crashed run's lease ran out; the tick claims a
  freed slot for the oldest parked delivery before queueing it, so no newcomer takes it first;
* every debounced message lands in exactly one batch, which runs with exactly its items;
* once the example stops, everything left finishes: nothing waits forever.

Actors: idempotency key (with and without keep_key_on_failure), content dedup on a key,
idempotency key plus one delay-mode throttle slot, throttle limit 1 per key in delay and in
drop mode, and debounce (merged at send, flushed by the tick or at max items). Besides new
messages and duplicates (same key), the machine re-sends the very same message, loses the
reply of a decision or of an ack (the script ran; FlowControl or Dramatiq sends it again),
and crashes a run before or after its after-hooks, or the whole worker.

Time passing: Redis has no clock to move, so "time passes" rewrites every absolute time the
middleware stored (lease deadlines, throttle slot times and lease ends, wait and flush
schedules, debounce window times) by -delta, as if the clock had jumped. TTLs are left
alone: they are far longer than any example. Leases are 10 minutes and the jumps 305 s or
605 s, so which leases ran out never depends on how long the test itself takes.

The model mirrors the design's rules, so invariants are also checked against Redis and against
what the hooks did, not only against the model. The bugs it found are kept as replays at the end.
`pytest -s` prints how often each decision was seen. ZAPQ_LONG_TESTS=1 runs many more and
longer examples.
"""

from __future__ import annotations

import itertools
import json
import os
import sys
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import dramatiq
import pytest
import redis
from dramatiq.common import current_millis
from dramatiq.errors import ConnectionClosed
from dramatiq.middleware import Retries, SkipMessage
from hypothesis import HealthCheck, target
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from middleware.errors import DuplicateMessage
from middleware.flow_control import DECIDED_SKIP, FENCE_OPTION
from middleware.redis_broker import ACK_HANDLER
from tests.middleware.helpers import decisions, flow_control

LONG = os.environ.get("ZAPQ_LONG_TESTS") == "1"
MACHINE_SETTINGS = hypothesis_settings(
    max_examples=300 if LONG else 75,
    stateful_step_count=60 if LONG else 30,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)

LEASE_MS = 600_000
PERIOD_MS = 24 * 3600 * 1000
QUIET_MS = 100_000
MAX_WAIT_MS = 200_000
MAX_ITEMS = 3
LIMIT = 1
# Sums of these never come within 280 s below a lease end (600 s, or 1200 s for a slot an
# unparked message has pre-claimed), so real time spent by the test never decides an expiry.
TIME_STEPS = (305_000, 605_000)
KEYS = ("a", "b")
SLOTS = 3
NEVER_RETRY_OUT = 1_000_000
TOLERANCE_MS = 60_000
VERY_OLD = -(10**15)

# idem: idempotency key; keep: and keep_key_on_failure; dedup: content dedup (dedup_key, checked at
# send too); both: idempotency key and one delay-throttle slot for all its keys; throttle: delay
# mode; drop: drop mode. Both throttles: limit 1 per key and a day's period.
PLAIN_KINDS = ("idem", "keep", "dedup", "both", "throttle", "drop")
ONE_SLOT = "all"
GUARDED = ("idem", "keep", "dedup", "both")
THROTTLED = ("both", "throttle", "drop")
LIVE = {"queue", "delayed", "running", "finishing", "crashed", "waiting", "parked"}
UNACKED = {"running", "finishing", "crashed"}


_names = itertools.count()
SEEN: Counter[str] = Counter()  # decisions the machine saw, printed at the end (pytest -s)


def _never_called(k: str, n: int) -> None:  # the machine runs the hooks, never the actor
    raise AssertionError("the model test never runs actors")


def _never_called_batch(items: list[Any]) -> None:
    raise AssertionError("the model test never runs actors")


def declare_actors(broker: Any) -> dict[str, Any]:
    suffix = f"{next(_names)}_{uuid.uuid4().hex[:6]}"
    common = {"broker": broker, "queue_name": "default", "lease_ms": LEASE_MS, "max_retries": NEVER_RETRY_OUT}
    throttled = {"throttle": "k", "throttle_limit": LIMIT, "throttle_period": PERIOD_MS}
    return {
        "idem": dramatiq.actor(
            _never_called, actor_name=f"model_idem_{suffix}", idempotency_key="k", **common
        ),
        "keep": dramatiq.actor(
            _never_called,
            actor_name=f"model_keep_{suffix}",
            idempotency_key="k",
            keep_key_on_failure=True,
            **common,
        ),
        "dedup": dramatiq.actor(
            _never_called, actor_name=f"model_dedup_{suffix}", dedup=PERIOD_MS, dedup_key="k", **common
        ),
        "both": dramatiq.actor(
            _never_called,
            actor_name=f"model_both_{suffix}",
            idempotency_key="k",
            throttle_mode="delay",
            **{**throttled, "throttle": lambda args, kwargs: ONE_SLOT},
            **common,
        ),
        "throttle": dramatiq.actor(
            _never_called, actor_name=f"model_throttle_{suffix}", throttle_mode="delay", **throttled, **common
        ),
        "drop": dramatiq.actor(
            _never_called, actor_name=f"model_drop_{suffix}", throttle_mode="drop", **throttled, **common
        ),
        "debounce": dramatiq.actor(
            _never_called_batch,
            actor_name=f"model_debounce_{suffix}",
            debounce="k",
            debounce_window=QUIET_MS,
            debounce_max_wait=MAX_WAIT_MS,
            debounce_max_items=MAX_ITEMS,
            **common,
        ),
    }


# The model.


@dataclass(eq=False)
class Msg:
    kind: str  # idem | keep | throttle | drop | batch
    id: str
    key: str
    guard: str = ""
    tkey: str = ""
    items: list[int] = field(default_factory=list)  # batch: numbers of the debounced messages in it
    fate: str = ""  # "" while unfinished, else succeeded | lease_lost | duplicate | dropped | dead
    sent: Any = None  # the Message as sent, to send it again


@dataclass(eq=False)
class Delivery:
    rid: str  # Dramatiq's redis_message_id
    msg: Msg
    where: str = "queue"  # queue delayed running finishing crashed waiting parked | gone dead
    proxy: Any = None
    consumer: Any = None
    slot: int = -1
    fence: int = 0
    lease_end: int = 0  # until when this run believes it holds its lease (model time)
    ending: str = ""  # finishing: success | retry | final
    handled: bool = False  # its ack handler ran once, the reply was lost: Dramatiq will retry the ack
    owner: str = ""  # the attempt that runs it ("<rid>:<random>"), owner of its leases
    held: bool = (
        False  # FlowControl holds (and renews) the run: from its decision until its record is written
    )


@dataclass
class GuardModel:
    # ("R", owner, fence, deadline, mid) | ("D", mid) | ("F", mid) | ("M", batch); owner: the attempt
    record: tuple[Any, ...] = ()
    waiters: list[str] = field(default_factory=list)
    waits_at: int | None = None


@dataclass
class ThrottleModel:
    # A slot is a delivery's (its rid): its attempts' (a re-sent call, a redelivery after a crash)
    # find it theirs, and the tick claims a freed one for a parked delivery on its way to the queue.
    # A Retries copy is another delivery: it needs a slot of its own.
    delay: bool
    members: dict[str, int] = field(default_factory=dict)  # rid -> slot taken at
    running: dict[str, int] = field(default_factory=dict)  # rid -> lease end (a claim: two leases)
    attempts: dict[str, str] = field(default_factory=dict)  # rid -> "attempt", or "claim" by the tick
    parked: list[str] = field(default_factory=list)  # rids, in order
    due: int | None = None


def drawn(d: Delivery) -> str:
    """Stands for the owner FlowControl draws for an attempt, until the machine learns it."""
    return f"{d.rid}:<attempt>"


@dataclass
class WindowModel:
    key: str
    batch: str
    rid: str
    first: int
    last: int
    items: list[int] = field(default_factory=list)

    @property
    def due(self) -> int:
        return min(self.last + QUIET_MS, self.first + MAX_WAIT_MS)


@dataclass
class RawItem:
    key: str
    message_id: str
    guard: str
    batch: str
    sent: Any = None


class Model:
    """What Redis should hold, by the design's rules, in model time (ms)."""

    def __init__(self) -> None:
        self.now = 0
        self.fence = 0
        self.queue: list[str] = []
        self.delayed: list[str] = []
        self.dead: set[str] = set()
        self.deliveries: dict[str, Delivery] = {}
        self.messages: dict[str, Msg] = {}
        self.guards: defaultdict[str, GuardModel] = defaultdict(GuardModel)
        self.throttles: dict[str, ThrottleModel] = {}
        self.windows: dict[str, WindowModel] = {}
        self.batch_items: dict[str, list[int]] = {}
        self.raw: dict[int, RawItem] = {}
        self.interest = 0  # contention seen in this example: hypothesis searches for more

    def where(self, *places: str) -> list[Delivery]:
        return [d for d in self.deliveries.values() if d.where in places]

    def add(self, rid: str, msg: Msg, where: str = "queue") -> Delivery:
        delivery = Delivery(rid, msg, where)
        self.deliveries[rid] = delivery
        self.messages.setdefault(msg.id, msg)
        (self.queue if where == "queue" else self.delayed).append(rid)
        return delivery

    def end(self, d: Delivery, where: str, fate: str) -> None:
        d.where, d.slot = where, -1
        if fate and d.msg.fate != "succeeded":
            d.msg.fate = fate

    # before_process.lua

    def decide(self, d: Delivery) -> str:
        msg, fence = d.msg, None
        if msg.guard:
            g = self.guards[msg.guard]
            if g.record and g.record[0] == "R":
                # A new attempt never owns a lease, not even a redelivery of the same delivery.
                deadline = g.record[3]
                if deadline > self.now:
                    self.interest += 1
                    if d.rid in g.waiters:
                        g.waiters.remove(d.rid)
                    g.waiters.append(d.rid)
                    g.waits_at = deadline
                    d.where = "waiting"
                    return "wait"
                else:
                    self.interest += 3  # an expired lease taken over: the old run may come back
                    SEEN["expired lease taken over"] += 1
            elif g.record:
                self.end(d, "gone", "duplicate")
                return "duplicate"
        if msg.tkey:
            t = self.throttles[msg.tkey]
            self.prune(t)
            if t.running.get(d.rid, 0) > self.now and t.attempts.get(d.rid) == "attempt":
                # Another attempt of this delivery holds its slot's live lease (a crashed run, or one
                # swept as dead while it runs): this one waits behind it, parked, in any mode.
                if d.rid in t.parked:
                    t.parked.remove(d.rid)
                t.parked.append(d.rid)
                if t.due is None or t.due > t.running[d.rid]:
                    t.due = t.running[d.rid]
                d.where = "parked"
                SEEN["redelivery waits for its own slot's live lease"] += 1
                return "wait"
            if d.rid in t.members:  # the delivery's own: claimed for it by the tick, or a redelivery's
                SEEN["throttle slot found the delivery's own"] += 1
            else:
                full = len(t.members) >= LIMIT
                if full or (t.delay and t.parked):
                    next_free = self.now
                    if full:
                        next_free = min(t.members.values()) + PERIOD_MS
                        if t.running:
                            next_free = min(next_free, min(t.running.values()))
                    if not t.delay:
                        self.end(d, "gone", "dropped")
                        return "throttled"
                    t.parked.append(d.rid)
                    if t.due is None or t.due > next_free:
                        t.due = next_free
                    d.where = "parked"
                    return "throttled"
            t.members.setdefault(d.rid, self.now)
            t.running[d.rid] = self.now + LEASE_MS
            t.attempts[d.rid] = "attempt"
        if fence is None:
            self.fence += 1
            fence = self.fence
        if msg.guard:
            self.guards[msg.guard].record = ("R", drawn(d), fence, self.now + LEASE_MS, msg.id)
        d.where, d.fence, d.lease_end = "running", fence, self.now + LEASE_MS
        return "run"

    def owner_drawn(self, d: Delivery, owner: str) -> None:
        """The attempt's owner id, drawn at random by FlowControl, replaces its stand-in."""
        d.owner = owner
        if d.msg.guard:
            record = self.guards[d.msg.guard].record
            assert record[:2] == ("R", drawn(d))
            self.guards[d.msg.guard].record = ("R", owner, *record[2:])

    def prune(self, t: ThrottleModel) -> None:
        for member, end in list(t.running.items()):
            if end <= self.now:
                del t.running[member]
                t.attempts.pop(member, None)
                t.members.pop(member, None)
        for member, taken in list(t.members.items()):
            if taken <= self.now - PERIOD_MS:
                del t.members[member]

    # after_success.lua: returns (lost, newly recorded)

    def success_script(self, d: Delivery) -> tuple[bool, bool]:
        msg, lost, recorded = d.msg, False, False
        if msg.guard:
            g = self.guards[msg.guard]
            if g.record == ("D", msg.id):
                pass  # already recorded by this very message: the same call again
            elif g.record and g.record[0] == "R" and g.record[1] == d.owner and g.record[2] == d.fence:
                g.record = ("D", msg.id)
                recorded = True
                self.drop_waiters(g)
            else:
                lost = True
        if msg.tkey:  # the delivery's slot counts for the period, but no longer runs
            self.throttles[msg.tkey].running.pop(d.rid, None)
            self.throttles[msg.tkey].attempts.pop(d.rid, None)
        if msg.kind == "batch" and not lost:
            self.batch_items.pop(msg.id, None)
        return lost, recorded

    def record_success(self, d: Delivery) -> tuple[bool, bool]:
        lost, recorded = self.success_script(d)
        if lost:
            self.interest += 5
        self.end(d, "gone", "lease_lost" if lost else "succeeded")
        return lost, recorded

    # after_failure.lua: returns the rids put back on the queue

    def failure_script(self, d: Delivery, final: bool) -> list[str]:
        msg, pushed = d.msg, []
        keep = msg.kind == "keep"
        if msg.guard:
            g = self.guards[msg.guard]
            if g.record and g.record[0] == "R" and g.record[1] == d.owner:
                g.record = ("F", msg.id) if keep and final else ()
                pushed = self.release_waiters(g)
                self.interest += len(pushed)
        if msg.tkey:
            t = self.throttles[msg.tkey]  # the delivery's slot is given back
            t.members.pop(d.rid, None)
            t.running.pop(d.rid, None)
            t.attempts.pop(d.rid, None)
            if t.parked:
                t.due = VERY_OLD
        if final and not keep and msg.kind == "batch":
            for number in msg.items:
                raw_guard = self.guards[self.raw[number].guard]
                if raw_guard.record and raw_guard.record[0] == "M":
                    raw_guard.record = ()
        return pushed

    def give_back(self, d: Delivery, final: bool, nacked: bool = True) -> list[str]:
        pushed = self.failure_script(d, final)
        if final and nacked:
            self.dead_letter(d)
        elif not final:
            self.end(d, "gone", "")  # its retry carries on
        return pushed

    def dead_letter(self, d: Delivery) -> None:
        self.dead.add(d.rid)
        self.end(d, "dead", "dead")

    def release_waiters(self, g: GuardModel) -> list[str]:
        pushed = [rid for rid in g.waiters if self.deliveries[rid].where == "waiting"]
        for rid in pushed:
            self.deliveries[rid].where = "queue"
            self.queue.append(rid)
        g.waiters, g.waits_at = [], None
        return pushed

    def drop_waiters(self, g: GuardModel) -> None:
        for rid in g.waiters:
            if self.deliveries[rid].where == "waiting":
                self.end(self.deliveries[rid], "gone", "duplicate")
        g.waiters, g.waits_at = [], None

    # Debounce: merge at send, flush as a batch message.

    def merge(self, number: int, item: RawItem, window_key: str, opened: tuple[str, str] | None) -> bool:
        window = self.windows.get(window_key)
        if window is None:
            assert opened is not None
            batch, rid = opened
            window = self.windows[window_key] = WindowModel(item.key, batch, rid, self.now, self.now)
            self.batch_items[batch] = []
        item.batch = window.batch
        self.raw[number] = item
        window.items.append(number)
        window.last = self.now
        self.batch_items[window.batch].append(number)
        self.guards[item.guard].record = ("M", window.batch)
        if len(window.items) >= MAX_ITEMS:
            self.flush(window_key)
            return True
        return False

    def flush(self, window_key: str) -> None:
        window = self.windows.pop(window_key)
        msg = Msg("batch", window.batch, window.key, guard=self.batch_guard(window.batch), items=window.items)
        self.add(window.rid, msg)

    batch_guard: Any = None  # set by the machine (needs the actor's name)

    # flush_due.lua: returns groups of rids pushed, each group in its own order

    def tick(self) -> list[list[str]]:
        groups: list[list[str]] = []
        for window_key, window in list(self.windows.items()):
            if window.due <= self.now:
                self.flush(window_key)
                groups.append([window.rid])
        for g in self.guards.values():
            if g.waits_at is None or g.waits_at > self.now:
                continue
            if g.record and g.record[0] == "R" and g.record[3] > self.now:
                g.waits_at = g.record[3]
            elif g.record and g.record[0] != "R":
                self.drop_waiters(g)
            else:
                groups.append(self.release_waiters(g))
        for t in self.throttles.values():
            if t.due is None or t.due > self.now:
                continue
            pushed = []
            while t.parked:
                self.prune(t)
                if len(t.members) >= LIMIT:
                    break
                d = self.deliveries[t.parked.pop(0)]
                # Claimed for the delivery on its way (its rid): no newcomer can take it first.
                t.members.setdefault(d.rid, self.now)
                t.running[d.rid] = self.now + 2 * LEASE_MS
                t.attempts[d.rid] = "claim"
                d.where = "queue"
                self.queue.append(d.rid)
                pushed.append(d.rid)
            if t.parked:
                next_free = (min(t.members.values()) if t.members else self.now) + PERIOD_MS
                if t.running:
                    next_free = min(next_free, min(t.running.values()))
                t.due = next_free
            else:
                t.due = None
            groups.append(pushed)
        return [group for group in groups if group]

    def time_matters(self) -> bool:
        """Whether anything stored depends on the time: leases, slots, windows."""
        return bool(
            self.windows
            or any(g.record and g.record[0] == "R" for g in self.guards.values())
            or any(t.members for t in self.throttles.values())
        )

    def tick_matters(self) -> bool:
        """Whether the tick has anything to look at: windows, parked duplicates or parked messages."""
        return bool(
            self.windows
            or any(g.waiters for g in self.guards.values())
            or any(t.parked for t in self.throttles.values())
        )

    # renew_leases.lua: returns how many leases were found lost

    def renew(self, held: list[Delivery]) -> int:
        lost = 0
        for d in held:
            renewed = False
            if d.msg.guard:
                g = self.guards[d.msg.guard]
                if g.record and g.record[0] == "R" and g.record[1] == d.owner:
                    _, owner, fence, _, mid = g.record
                    g.record = ("R", owner, fence, self.now + LEASE_MS, mid)
                    renewed = True
                else:
                    lost += 1
            if d.msg.tkey:
                t = self.throttles[d.msg.tkey]
                if d.rid in t.running:
                    t.running[d.rid] = self.now + LEASE_MS
                    renewed = True
            if renewed:
                d.lease_end = self.now + LEASE_MS
        return lost


# The harness.


@dataclass
class World:
    broker: Any
    flow: Any
    retries: Any
    client: redis.Redis
    actors: dict[str, Any]

    def __post_init__(self) -> None:
        ns, worker = self.broker.namespace, self.broker.broker_id
        self.queue_key = f"{ns}:default"
        self.msgs_key = f"{ns}:default.msgs"
        self.dq_key = f"{ns}:default.DQ"
        self.dq_msgs_key = f"{ns}:default.DQ.msgs"
        self.xq_key = f"{ns}:default.XQ"
        self.xq_msgs_key = f"{ns}:default.XQ.msgs"
        self.acks_key = f"{ns}:__acks__.{worker}.default"
        self.dq_acks_key = f"{ns}:__acks__.{worker}.default.DQ"
        self.heartbeats_key = f"{ns}:__heartbeats__"
        self.keys = self.flow.keys
        self.fns = self.keys.namespace

    def actor_of(self, msg: Msg) -> Any:
        return self.actors["debounce" if msg.kind == "batch" else msg.kind]

    def redis_now(self) -> int:
        seconds, micros = self.client.time()
        return int(seconds) * 1000 + int(micros) // 1000

    def let_time_pass(self, delta: int) -> None:
        """Move every absolute time the middleware stored back by delta: the clock jumped."""
        client, fns = self.client, self.fns
        for key in client.scan_iter(match=f"{fns}:*", count=1000):
            kind = client.type(key)
            if kind == "string" and key.startswith(f"{fns}:guard:"):
                value = client.get(key) or ""
                if value.startswith("R|"):
                    _, rid, deadline, rest = value.split("|", 3)
                    client.set(key, f"R|{rid}|{int(deadline) - delta}|{rest}", keepttl=True)
            elif kind == "zset":  # throttle slots and lease ends, waits, throttle and debounce schedules
                pairs = client.zrange(key, 0, -1, withscores=True)
                client.zadd(key, {member: score - delta for member, score in pairs})
            elif kind == "hash" and key.startswith(f"{fns}:debounce:window:"):
                for name in ("first", "last", "max_at"):
                    client.hincrby(key, name, -delta)


@contextmanager
def replies_lost(world: World, *names: str, resent: bool) -> Iterator[None]:
    """The named flow-control scripts run in Redis, but their reply is lost.

    resent: the caller sends the same call again at once (what `FlowControl._call_patiently`
    does, without its back-off sleep), and gets the second reply. Otherwise the call raises
    ConnectionError after the script ran, as when the connection drops before the reply (what
    tcp_proxy's drop_after_next_reply does; FlowControl acks only through a client of the
    broker's own Redis address, so the fault is injected here, around the real scripts).
    """
    scripts = world.flow.scripts
    originals = {name: scripts[name] for name in names}

    def losing(name: str) -> Any:
        def call(*, keys: list[Any], args: list[Any]) -> Any:
            originals[name](keys=keys, args=args)
            if resent:
                return originals[name](keys=keys, args=args)
            raise redis.ConnectionError(f"the reply of {name} was lost (injected)")

        return call

    try:
        for name in names:
            scripts[name] = losing(name)
        yield
    finally:
        scripts.update(originals)


def forget_run(world: World, proxy: Any) -> None:
    """The process holding a run died: FlowControl's memory of it (its renewal) is gone."""
    found = world.flow.leases.held(proxy)
    if found is not None:
        world.flow.leases.release(found[0])


def parse_record(value: str) -> tuple[Any, ...]:
    if value.startswith("R|"):
        _, rid, deadline, fence, mid = value.split("|", 4)
        return ("R", rid, int(fence), int(deadline), mid)
    kind, _, rest = value.partition("|")
    return (kind, rest)


class FlowControlMachine(RuleBasedStateMachine):
    world: World  # set per test function
    replaying = False  # True when a test replays a fixed sequence, outside hypothesis

    def __init__(self) -> None:
        super().__init__()
        w = self.world
        w.client.flushdb()  # clean_state runs once per test function, not per example
        self.m = Model()
        self.m.batch_guard = lambda batch: w.keys.guard(w.actors["debounce"].actor_name, "batch", batch)
        for kind, key in [*itertools.product(("throttle", "drop"), KEYS), ("both", ONE_SLOT)]:
            tkey = w.keys.throttle(w.actors[kind].actor_name, key)
            self.m.throttles[tkey] = ThrottleModel(delay=kind != "drop")
        self.numbers = itertools.count()
        self.slots = [ThreadPoolExecutor(1) for _ in range(SLOTS)]
        self.slot_of: list[Delivery | None] = [None] * SLOTS
        self.abandoned: list[Any] = []  # proxies of crashed runs, kept so their ids are never reused
        self.recorded_seen: Counter[str] = Counter()
        self.ghosts: list[Delivery] = []  # acked in Redis, but Dramatiq will send the ack again
        self.clean = True  # False while a step runs; teardown drains only after clean steps
        self.last_steps: list[str] = []  # the last two steps: repeating some of them is pointless
        self.decided: list[str] = []  # every decision, in order, as "<kind>: <outcome>"
        self.heartbeat()

    def teardown(self) -> None:
        if self.clean and not self.replaying:
            target(self.m.interest, label="contention")
        try:
            if self.clean:
                self.drain_and_check_nothing_is_left_behind()
        finally:
            for executor in self.slots:
                executor.shutdown(wait=True)
            for d in self.held():  # runs a failed example left behind
                forget_run(self.world, d.proxy)
            self.world.client.flushdb()

    # Helpers.

    def stepping(self) -> None:
        self.clean = False  # until the invariants held after this step
        name = sys._getframe(1).f_code.co_name
        SEEN[f"step {name}"] += 1
        self.last_steps = [*self.last_steps[-1:], name]

    def heartbeat(self) -> None:
        """The worker is alive (lease renewal heartbeats it): maintenance must not requeue its messages."""
        self.world.client.zadd(self.world.heartbeats_key, {self.world.broker.broker_id: current_millis()})

    def in_slot(self, slot: int, fn: Any, *args: Any, **kwargs: Any) -> Any:
        return self.slots[slot].submit(fn, *args, **kwargs).result(timeout=30)

    def free_slot(self) -> int | None:
        return next((slot for slot, d in enumerate(self.slot_of) if d is None), None)

    def held(self) -> list[Delivery]:
        return [d for d in self.m.deliveries.values() if d.held]

    def executing(self) -> list[Delivery]:
        return [d for d in self.slot_of if d is not None]

    def _before(self, proxy: Any) -> str:
        try:
            self.world.flow.before_process_message(self.world.broker, proxy)
        except SkipMessage:
            if proxy.failed:
                return "missing"
            return str(getattr(proxy, DECIDED_SKIP))
        return "run"

    def _fail_retryable(self, proxy: Any, error: BaseException) -> None:
        w = self.world
        w.retries.after_process_message(w.broker, proxy, exception=error)
        assert not proxy.failed, "Retries should retry, not give up"
        w.flow.after_process_message(w.broker, proxy, exception=error)

    def start_next(self, reply_lost: bool = False) -> Delivery:
        w, m = self.world, self.m
        slot = self.free_slot()
        assert slot is not None
        self.heartbeat()
        consumer = w.broker.consume("default", prefetch=1, timeout=1)
        proxy = next(consumer)
        assert proxy is not None, "the model has a message on the queue, Redis has none"
        rid = proxy.options["redis_message_id"]
        assert rid == m.queue[0], "messages come off the queue in the order they went on"
        m.queue.pop(0)
        d = m.deliveries[rid]
        assert proxy.message_id == d.msg.id
        d.proxy, d.consumer = proxy, consumer
        fence_before = m.fence
        expected = m.decide(d)
        if reply_lost and expected == "run" and not d.msg.guard:
            m.fence += 1  # the lost call drew a fence too; only a guard keeps the first one
            d.fence = m.fence
        if reply_lost:
            with replies_lost(w, "before_process", resent=True):
                observed = self.in_slot(slot, self._before, proxy)
        else:
            observed = self.in_slot(slot, self._before, proxy)
        assert observed == expected, f"{d.msg.kind} message {d.msg.id}: decided {observed}, model {expected}"
        SEEN[f"{d.msg.kind}: {observed}"] += 1
        self.decided.append(f"{d.msg.kind}: {observed}")
        if observed == "run":
            self.attempt_started(d, proxy)
            assert proxy.options[FENCE_OPTION] == d.fence
            if d.fence > fence_before:
                assert int(w.client.get(w.keys.fence) or 0) == m.fence
            self.assert_no_other_live_run_holds_the_key_or_slot(d)
            if d.msg.kind == "batch":
                expected_items = [{"k": d.msg.key, "n": number} for number in d.msg.items]
                assert list(proxy.args) == [expected_items], "a batch runs with exactly its items, in order"
            d.slot = slot
            self.slot_of[slot] = d
        else:
            self.in_slot(slot, w.flow.after_skip_message, w.broker, proxy)
            (consumer.nack if proxy.failed else consumer.ack)(proxy)
        return d

    def attempt_started(self, d: Delivery, proxy: Any) -> None:
        """The run holds its leases as an attempt whose owner id FlowControl drew at random."""
        found = self.world.flow.leases.held(proxy)
        assert found is not None, "a run FlowControl let through is held (renewed) until its ack"
        owner = found[1].owner
        assert owner.startswith(f"{d.rid}:"), "the owner is the delivery and an attempt"
        assert owner not in {other.owner for other in self.m.deliveries.values()}, "a new attempt each time"
        self.m.owner_drawn(d, owner)
        d.held = True

    def assert_no_other_live_run_holds_the_key_or_slot(self, d: Delivery) -> None:
        for other in self.executing():
            if other is d or other.lease_end <= self.m.now:
                continue  # a run whose lease ran out (renewal failed) no longer holds anything
            assert not (d.msg.guard and other.msg.guard == d.msg.guard), (
                f"two runs with live leases on one key {d.msg.key}: {other.rid} and {d.rid}"
            )
            assert not (d.msg.tkey and other.msg.tkey == d.msg.tkey), (
                f"throttle limit {LIMIT} exceeded on key {d.msg.key}: {other.msg.id} (delivery {other.rid}) "
                f"and {d.msg.id} (delivery {d.rid}) run at once, both with live leases"
            )

    def end_run(self, d: Delivery, ending: str, ack_now: bool) -> None:
        w, m = self.world, self.m
        slot, proxy = d.slot, d.proxy
        if ending == "success":
            self.in_slot(slot, w.flow.after_process_message, w.broker, proxy, result=None)
        elif ending == "retry":
            already = len(m.delayed)
            self.in_slot(slot, self._fail_retryable, proxy, RuntimeError("transient"))
            retry = w.client.lrange(w.dq_key, already, -1)
            assert len(retry) == 1, "Retries enqueued exactly one retry"
            m.add(retry[0], d.msg, where="delayed")
        else:
            proxy.fail()
            self.in_slot(slot, w.flow.after_process_message, w.broker, proxy, exception=RuntimeError("fatal"))
        self.slot_of[slot] = None
        d.slot, d.where, d.ending = -1, "finishing", ending
        if ack_now:
            self.ack(d)

    def ack(self, d: Delivery, reply_lost: bool = False) -> None:
        """What Dramatiq's consumer does once the worker thread is done: ack (or nack) the message.

        With reply_lost, the ack handler's script runs but its reply is lost: the consumer raises
        ConnectionClosed and Dramatiq retries the ack later (ack_again), with the handler still set.
        """
        if d.handled:
            self.ack_again(d)
            return
        w, m = self.world, self.m
        msg, client = d.msg, w.client
        actor = w.actor_of(msg)
        guard_before = client.get(msg.guard) if msg.guard else None
        lost_before = decisions(actor, "lease_lost")
        queued = len(m.queue)
        owned = bool(msg.guard) and (guard_before or "").startswith(f"R|{d.owner}|")
        final = d.ending == "final"
        if d.ending == "success":
            lost, recorded = m.record_success(d)
            SEEN["success refused (lease lost)" if lost else "success recorded"] += 1
        else:
            expected = m.give_back(d, final, nacked=not reply_lost)
            SEEN[f"failure ({d.ending}) released {min(len(expected), 1)}+ waiters"] += 1
        if reply_lost:
            with (
                replies_lost(w, "after_success", "after_failure", resent=False),
                pytest.raises(ConnectionClosed),
            ):
                (d.consumer.nack if final else d.consumer.ack)(d.proxy)  # Dramatiq retries it later
            assert getattr(d.proxy, ACK_HANDLER, None) is not None, "the ack handler stays for the retry"
            assert w.flow.leases.held(d.proxy) is not None, "the run stays held until its record is written"
            d.handled = True
            if not final:
                self.ghosts.append(d)
        else:
            (d.consumer.nack if final else d.consumer.ack)(d.proxy)
            assert w.flow.leases.held(d.proxy) is None
            d.held = False
        if d.ending == "success":
            if msg.guard:
                guard_after = client.get(msg.guard)
                seen = guard_after == f"D|{msg.id}" and guard_before != guard_after
                assert seen == recorded, f"success of {msg.id}: recorded {seen}, model {recorded}"
                if seen:
                    self.recorded_seen[msg.guard] += 1
            counted = decisions(actor, "lease_lost") - lost_before
            # Counted once FlowControl has the script's reply: with the reply lost, when the ack is re-sent.
            assert counted == int(lost and not reply_lost), "a refused success is counted"
        else:
            assert client.lrange(w.queue_key, queued, -1) == expected, (
                "waiters go back on the queue, in order"
            )
            if final and owned:
                guard_after = client.get(msg.guard)
                if msg.kind == "keep":
                    assert guard_after == f"F|{msg.id}", "a key kept on failure stays decided"
                else:
                    assert guard_after is None, "a key whose run failed for good is released"
            if msg.tkey:
                assert client.zscore(msg.tkey, d.rid) is None, "a failed run gives its throttle slot back"
                assert client.zscore(f"{msg.tkey}:running", d.rid) is None
        if not d.handled:
            d.proxy = d.consumer = None

    def ack_again(self, d: Delivery) -> None:
        """Dramatiq retries an ack whose reply was lost: the handler's script runs a second time."""
        w, m = self.world, self.m
        actor = w.actor_of(d.msg)
        lost_before = decisions(actor, "lease_lost")
        queued = len(m.queue)
        lost = False
        if d.ending == "success":
            lost, recorded = m.success_script(d)
            assert not recorded
            d.consumer.ack(d.proxy)
        else:
            assert m.failure_script(d, d.ending == "final") == []
            if d.ending == "final":
                d.consumer.nack(d.proxy)
                m.dead_letter(d)
            else:
                d.consumer.ack(d.proxy)
        assert w.client.lrange(w.queue_key, queued, -1) == [], "a re-sent give-back releases nothing twice"
        assert decisions(actor, "lease_lost") - lost_before == int(lost)
        SEEN[f"ack of a {d.ending} re-sent"] += 1
        assert w.flow.leases.held(d.proxy) is None
        if d in self.ghosts:
            self.ghosts.remove(d)
        d.handled = d.held = False
        d.proxy = d.consumer = None

    def redeliver(self, d: Delivery) -> None:
        """Dramatiq's maintenance for a dead worker: its unacked message goes back on its queue."""
        w = self.world
        assert w.client.srem(w.acks_key, d.rid) == 1
        if w.client.hexists(w.msgs_key, d.rid):
            w.client.rpush(w.queue_key, d.rid)
        d.where, d.proxy, d.consumer = "queue", None, None
        self.m.queue.append(d.rid)

    def crash(self, d: Delivery) -> None:
        forget_run(self.world, d.proxy)  # the process is gone, and its memory with it
        d.held = False
        if d.where == "running":
            self.slot_of[d.slot] = None
        self.abandoned.append(d.proxy)
        SEEN[f"crash while {d.where}"] += 1
        d.where, d.slot, d.handled = "crashed", -1, False

    def promote(self) -> None:
        """What a worker's delay consumer does with a due retry: back onto its queue."""
        w, m = self.world, self.m
        consumer = w.broker.consume("default.DQ", prefetch=1, timeout=1)
        proxy = next(consumer)
        assert proxy is not None
        rid = proxy.options["redis_message_id"]
        assert rid == m.delayed.pop(0)
        copy = proxy.copy(queue_name="default")
        del copy.options["eta"]
        sent = w.broker.enqueue(copy)
        consumer.ack(proxy)
        old = m.deliveries[rid]
        old.where = "gone"
        m.add(sent.options["redis_message_id"], old.msg)

    def tick(self) -> None:
        w, m = self.world, self.m
        queued = len(m.queue)
        groups = m.tick()
        w.flow._tick()
        pushed = w.client.lrange(w.queue_key, queued, -1)
        assert sorted(pushed) == sorted(rid for group in groups for rid in group), (
            "the tick pushed what it should"
        )
        for group in groups:
            positions = [pushed.index(rid) for rid in group]
            assert positions == sorted(positions), "waiters and parked messages keep their order"
        m.queue[queued:] = pushed
        m.interest += len(pushed)
        SEEN[f"tick pushed {min(len(pushed), 2)}+"] += 1

    def let_time_pass(self, delta: int) -> None:
        self.world.let_time_pass(delta)
        self.m.now += delta

    # Rules.

    def repeats(self, name: str, times: int = 1) -> bool:
        return self.last_steps[-times:] == [name] * times

    @precondition(lambda self: len(self.m.where(*LIVE)) + len(self.m.windows) < 10)
    @rule(kind=st.sampled_from((*PLAIN_KINDS, "debounce")), key=st.sampled_from(KEYS))
    def send(self, kind: str, key: str) -> None:
        """A new message for key (a duplicate when the key was used before); debounced ones merge."""
        self.stepping()
        if kind == "debounce":
            self.send_debounced(key)
        else:
            self.send_plain(kind, key)

    def send_plain(self, kind: str, key: str) -> None:
        w = self.world
        actor = w.actors[kind]
        name = actor.actor_name
        guard = w.keys.guard(name, "dedup" if kind == "dedup" else "idem", key) if kind in GUARDED else ""
        tkey = w.keys.throttle(name, ONE_SLOT if kind == "both" else key) if kind in THROTTLED else ""
        if kind == "dedup" and self.m.guards[guard].record[:1] in (("D",), ("F",), ("M",)):
            dropped = decisions(actor, "dedup_dropped")
            with pytest.raises(DuplicateMessage):  # dropped at send: never queued
                actor.send(key, next(self.numbers))
            assert decisions(actor, "dedup_dropped") == dropped + 1
            SEEN["dedup: dropped at send"] += 1
            return
        sent = actor.send(key, next(self.numbers))
        msg = Msg(kind, sent.message_id, key, guard=guard, tkey=tkey, sent=sent)
        self.m.add(sent.options["redis_message_id"], msg)

    @precondition(lambda self: self.m.messages and len(self.m.where(*LIVE)) + len(self.m.windows) < 10)
    @rule(pick=st.integers(0, 15))
    def send_duplicate(self, pick: int) -> None:
        """A new message with the same key as one sent before (running, waiting, done or failed)."""
        self.stepping()
        # Duplicates of what is running (or crashed, or not yet acked) first: that is where keys contend.
        held = [d.msg for d in self.m.where(*UNACKED)]
        earlier = [msg for msg in [*held, *reversed(self.m.messages.values())] if msg.kind in PLAIN_KINDS]
        if not earlier:  # only batches so far: their keys are their own
            return
        msg = earlier[pick % len(earlier)]
        self.send_plain(msg.kind, msg.key)

    @precondition(lambda self: (self.m.messages or self.m.raw) and len(self.m.where(*LIVE)) < 10)
    @rule(pick=st.integers(0, 15), debounced=st.booleans())
    def send_the_same_message_again(self, pick: int, debounced: bool) -> None:
        """A producer sends the very same message again (same message id), unsure the first send worked."""
        self.stepping()
        w, m = self.world, self.m
        if debounced:
            merged = [item for item in m.raw.values() if m.guards[item.guard].record[:1] == ("M",)]
            if merged:  # absorbed as a duplicate: its window and batch stay as they are
                queued = len(m.queue)
                w.broker.enqueue(merged[pick % len(merged)].sent)
                assert w.client.lrange(w.queue_key, queued, -1) == []
            return
        earlier = [msg for msg in reversed(m.messages.values()) if msg.sent is not None]
        if earlier:
            msg = earlier[pick % len(earlier)]
            sent = w.broker.enqueue(msg.sent)
            m.add(sent.options["redis_message_id"], msg)

    def send_debounced(self, key: str) -> None:
        w, m = self.world, self.m
        actor = w.actors["debounce"]
        number = next(self.numbers)
        window_key = w.keys.debounce_window(actor.actor_name, key)
        queued = len(m.queue)
        sent = actor.send({"k": key, "n": number})
        item = RawItem(key, sent.message_id, w.keys.guard(actor.actor_name, "msg", sent.message_id), "", sent)
        opened = None
        if window_key not in m.windows:
            batch, rid = w.client.hmget(window_key, "batch", "rid")
            assert batch and rid, "the first message opens a window"
            opened = (batch, rid)
        flushed = m.merge(number, item, window_key, opened)
        assert w.client.lrange(w.queue_key, queued, -1) == (m.queue[queued:] if flushed else [])

    @precondition(lambda self: self.m.queue and self.free_slot() is not None)
    @rule()
    def start(self) -> None:
        self.stepping()
        self.start_next()

    @precondition(lambda self: self.m.queue and self.free_slot() is not None)
    @rule()
    def start_after_a_lost_reply(self) -> None:
        """As start, but Redis ran the decision and the reply was lost: the call is made again."""
        self.stepping()
        self.start_next(reply_lost=True)

    # A run ends: the ack (where FlowControl records the outcome) happens in the same step or, as
    # when Dramatiq's consumer thread is slow or Redis blipped, in a later one (ack_later).

    @precondition(lambda self: self.executing())
    @rule(pick=st.integers(0, SLOTS - 1), ack_now=st.booleans())
    def finish_with_success(self, pick: int, ack_now: bool) -> None:
        self.stepping()
        running = self.executing()
        self.end_run(running[pick % len(running)], "success", ack_now)

    @precondition(lambda self: self.executing())
    @rule(pick=st.integers(0, SLOTS - 1), ack_now=st.booleans())
    def finish_with_retryable_failure(self, pick: int, ack_now: bool) -> None:
        """Retries enqueues a copy with a delay; FlowControl gives back what the run held."""
        self.stepping()
        running = self.executing()
        self.end_run(running[pick % len(running)], "retry", ack_now)

    @precondition(lambda self: self.executing())
    @rule(pick=st.integers(0, SLOTS - 1), ack_now=st.booleans())
    def finish_with_final_failure(self, pick: int, ack_now: bool) -> None:
        """The message failed for good: released (or kept), then dead-lettered."""
        self.stepping()
        running = self.executing()
        self.end_run(running[pick % len(running)], "final", ack_now)

    @precondition(lambda self: self.m.where("finishing") or self.ghosts)
    @rule(pick=st.integers(0, 7))
    def ack_later(self, pick: int) -> None:
        """The consumer acks a finished run (or retries an ack whose reply was lost)."""
        self.stepping()
        pending = [*self.m.where("finishing"), *self.ghosts]
        self.ack(pending[pick % len(pending)])

    @precondition(lambda self: [d for d in self.m.where("finishing") if not d.handled])
    @rule(pick=st.integers(0, 7))
    def ack_whose_reply_is_lost(self, pick: int) -> None:
        """The ack's script runs in Redis, the reply is lost: Dramatiq will send it again (ack_later)."""
        self.stepping()
        pending = [d for d in self.m.where("finishing") if not d.handled]
        self.ack(pending[pick % len(pending)], reply_lost=True)

    @precondition(lambda self: self.m.where("running", "finishing"))
    @rule(pick=st.integers(0, 7))
    def crash_a_run(self, pick: int) -> None:
        """A worker dies while running a message, or before its ack reached Redis."""
        self.stepping()
        victims = self.m.where("running", "finishing")
        self.crash(victims[pick % len(victims)])

    @precondition(lambda self: self.m.where("crashed"))
    @rule(pick=st.integers(0, 7))
    def redeliver_a_crashed_run(self, pick: int) -> None:
        self.stepping()
        crashed = self.m.where("crashed")
        self.redeliver(crashed[pick % len(crashed)])

    @precondition(lambda self: len(self.m.where(*UNACKED)) > 1)
    @rule()
    def restart(self) -> None:
        """The worker process dies and comes back: every run in it is lost, its messages redelivered."""
        self.stepping()
        for d in self.m.where("running", "finishing"):
            self.crash(d)
        for d in self.m.where("crashed"):
            self.redeliver(d)
        for d in self.ghosts:  # their ack retries died with the process
            forget_run(self.world, d.proxy)
            d.held = False
        self.ghosts.clear()
        for executor in self.slots:
            executor.shutdown(wait=True)
        self.slots = [ThreadPoolExecutor(1) for _ in range(SLOTS)]

    @precondition(lambda self: self.m.time_matters() and not self.repeats("time_passes", 2))
    @rule(delta=st.sampled_from(TIME_STEPS))
    def time_passes(self, delta: int) -> None:
        self.stepping()
        self.let_time_pass(delta)

    @precondition(lambda self: self.m.tick_matters() and not self.repeats("flow_control_tick"))
    @rule()
    def flow_control_tick(self) -> None:
        self.stepping()
        self.tick()

    @precondition(lambda self: self.m.delayed)
    @rule()
    def retry_becomes_due(self) -> None:
        self.stepping()
        self.promote()

    @precondition(lambda self: self.held() and not self.repeats("renew_leases"))
    @rule()
    def renew_leases(self) -> None:
        self.stepping()
        ours = {d.owner for d in self.held()}
        foreign = sum(  # runs an earlier test left held in the session's FlowControl, if any
            len(run.plan.guard_keys)
            for run in list(self.world.flow.leases._held.values())
            if run.owner not in ours
        )
        expected = self.m.renew(self.held())
        lost = self.world.flow.leases.renew(self.world.flow.scripts["renew_leases"])
        assert lost == expected + foreign

    # Invariants.

    @invariant()
    def invariants_hold(self) -> None:
        self.heartbeat()
        self.redis_holds_what_the_model_says()
        self.nothing_vanishes()
        self.no_message_is_lost()
        assert all(count <= 1 for count in self.recorded_seen.values()), (
            f"a key recorded two successful completions: {self.recorded_seen}"
        )
        self.clean = True

    def redis_holds_what_the_model_says(self) -> None:
        w, m, client = self.world, self.m, self.world.client
        now = w.redis_now()

        def close(real_ms: float, model_ms: int, what: str) -> None:
            if model_ms == VERY_OLD:
                assert real_ms <= now, what
            else:
                assert abs((real_ms - now) - (model_ms - m.now)) < TOLERANCE_MS, what

        assert client.lrange(w.queue_key, 0, -1) == m.queue
        assert client.lrange(w.dq_key, 0, -1) == m.delayed
        assert client.smembers(w.acks_key) == {d.rid for d in m.where(*UNACKED)}
        assert not client.smembers(w.dq_acks_key)
        assert set(client.zrange(w.xq_key, 0, -1)) == m.dead

        records, waiters = {}, {}
        for key in client.scan_iter(match=f"{w.fns}:guard:*", count=1000):
            if key.endswith(":waiters"):
                waiters[key.removesuffix(":waiters")] = [
                    e.rsplit("|", 1)[1] for e in client.lrange(key, 0, -1)
                ]
            else:
                records[key] = parse_record(client.get(key) or "")
        expected_records = {key: g.record for key, g in m.guards.items() if g.record}
        assert set(records) == set(expected_records), "guard records"
        for key, record in records.items():
            expected = expected_records[key]
            if record[0] == "R":
                assert record[:3] + record[4:] == expected[:3] + expected[4:], f"lease on {key}"
                close(record[3], expected[3], f"lease deadline of {key}")
            else:
                assert record == expected, f"record of {key}"
        assert waiters == {key: g.waiters for key, g in m.guards.items() if g.waiters}, "parked duplicates"
        waits = dict(client.zrange(w.keys.waits, 0, -1, withscores=True))
        assert set(waits) == {key for key, g in m.guards.items() if g.waits_at is not None}
        for key, score in waits.items():
            close(score, m.guards[key].waits_at or 0, f"wait schedule of {key}")

        throttle_keys = set()
        for tkey, t in m.throttles.items():
            members = dict(client.zrange(tkey, 0, -1, withscores=True))
            assert len(members) <= LIMIT, f"more slots than the limit on {tkey}"
            assert set(members) == set(t.members), f"throttle slots of {tkey}"
            for member, taken in members.items():
                close(taken, t.members[member], "slot time")
            running = dict(client.zrange(f"{tkey}:running", 0, -1, withscores=True))
            assert set(running) == set(t.running), f"running slots of {tkey}"
            for member, end in running.items():
                close(end, t.running[member], "slot lease end")
            attempts = client.hgetall(f"{tkey}:attempts")
            assert set(attempts) == set(t.running), f"each leased slot of {tkey} names its attempt"
            parked = [e.split("|")[1] for e in client.lrange(f"{tkey}:parked", 0, -1)]
            assert parked == t.parked, f"messages parked for a slot of {tkey}"
            stored = {tkey: members, f"{tkey}:running": running, f"{tkey}:attempts": attempts,
                      f"{tkey}:parked": parked}  # fmt: skip
            throttle_keys |= {key for key, value in stored.items() if value}
        due = dict(client.zrange(w.keys.throttle_due, 0, -1, withscores=True))
        assert set(due) == {tkey for tkey, t in m.throttles.items() if t.due is not None}
        for tkey, score in due.items():
            close(score, m.throttles[tkey].due or 0, "throttle schedule")
        if due:
            throttle_keys.add(w.keys.throttle_due)
        assert set(client.scan_iter(match=f"{w.fns}:throttle:*", count=1000)) == throttle_keys

        windows = set(client.scan_iter(match=f"{w.fns}:debounce:window:*", count=1000))
        assert windows == set(m.windows), "open debounce windows"
        for window_key, window in m.windows.items():
            stored = client.hgetall(window_key)
            assert (stored["batch"], stored["rid"], int(stored["count"])) == (
                window.batch,
                window.rid,
                len(window.items),
            )
            close(int(stored["first"]), window.first, "window opened")
        flush_due = dict(client.zrange(w.keys.debounce_due, 0, -1, withscores=True))
        assert set(flush_due) == set(m.windows)
        for window_key, score in flush_due.items():
            close(score, m.windows[window_key].due, "window flush time")
        batches = {
            key.removeprefix(w.keys.debounce_items_prefix): key
            for key in client.scan_iter(match=f"{w.keys.debounce_items_prefix}*", count=1000)
        }
        assert set(batches) == set(m.batch_items), "a batch keeps its items until it succeeds"
        for batch, key in batches.items():
            numbers = [json.loads(e.split("\n", 1)[1])["n"] for e in client.lrange(key, 0, -1) if "\n" in e]
            assert numbers == m.batch_items[batch], f"items of batch {batch}"

    def nothing_vanishes(self) -> None:
        """Every message body in Redis has exactly one place, and every place has its body."""
        w, client = self.world, self.world.client
        queue = client.lrange(w.queue_key, 0, -1)
        places = {
            "queue": set(queue),
            "unacked": client.smembers(w.acks_key),
            "waiting": {
                e.rsplit("|", 1)[1]
                for key in client.scan_iter(match=f"{w.fns}:guard:*:waiters", count=1000)
                for e in client.lrange(key, 0, -1)
            },
            "parked": {
                e.split("|")[1]
                for key in client.scan_iter(match=f"{w.fns}:throttle:*:parked", count=1000)
                for e in client.lrange(key, 0, -1)
            },
        }
        assert len(queue) == len(places["queue"]), "a message is on its queue twice"
        for (first, a), (second, b) in itertools.combinations(places.items(), 2):
            assert not a & b, f"messages both {first} and {second}: {a & b}"
        everywhere = set().union(*places.values())
        bodies = set(client.hkeys(w.msgs_key))
        assert bodies - everywhere == set(), f"message bodies nothing refers to (lost): {bodies - everywhere}"
        assert everywhere - bodies == set(), f"places whose message body is gone: {everywhere - bodies}"
        assert set(client.hkeys(w.dq_msgs_key)) == set(client.lrange(w.dq_key, 0, -1))
        assert set(client.hkeys(w.xq_msgs_key)) == set(client.zrange(w.xq_key, 0, -1))

    def no_message_is_lost(self) -> None:
        live_messages = {d.msg.id for d in self.m.deliveries.values() if d.where in LIVE}
        for msg in self.m.messages.values():
            assert msg.fate or msg.id in live_messages, f"{msg.kind} message {msg.id} vanished"
        for number, item in self.m.raw.items():
            batch = self.m.messages.get(item.batch)
            window_items = [n for window in self.m.windows.values() for n in window.items]
            assert (number in window_items) != (batch is not None and number in batch.items), (
                f"debounced message {number} is in no batch, or in two"
            )

    # After the example: everything left must finish.

    def drain_and_check_nothing_is_left_behind(self) -> None:
        m = self.m
        for _ in range(300):
            for d in [*m.where("finishing"), *self.ghosts]:
                self.ack(d)
            for d in self.executing():
                self.end_run(d, "success", ack_now=True)
            for d in m.where("crashed"):
                self.redeliver(d)
            while m.delayed:
                self.promote()
            if m.queue:
                d = self.start_next()
                if d.where == "running":
                    self.end_run(d, "success", ack_now=True)
            elif m.where(*LIVE) or m.windows:
                self.let_time_pass(PERIOD_MS + 2 * LEASE_MS)
                self.tick()
            else:
                break
            self.invariants_hold()
        stuck = [(d.msg.kind, d.msg.key, d.where) for d in m.where(*LIVE)]
        assert not stuck and not m.windows, f"left waiting forever: {stuck}, windows {list(m.windows)}"
        assert all(msg.fate for msg in m.messages.values())


@pytest.fixture
def model_world(broker, settings) -> Iterator[World]:  # type: ignore[no-untyped-def]
    retries = next(middleware for middleware in broker.middleware if isinstance(middleware, Retries))
    client = redis.Redis.from_url(settings.redis_url, decode_responses=True)
    world = World(broker, flow_control(broker), retries, client, declare_actors(broker))
    yield world
    client.close()


def test_flow_control_keeps_its_invariants_in_any_interleaving_of_sends_runs_crashes_and_time(model_world):
    machine = type("FlowControlMachine", (FlowControlMachine,), {"world": model_world})
    SEEN.clear()
    run_state_machine_as_test(machine, settings=MACHINE_SETTINGS)
    print("decisions seen:", dict(sorted(SEEN.items())))
    assert model_world.client.dbsize() == 0  # each example cleaned up after itself


def replay(world: World, *steps: tuple[str, dict[str, Any]]) -> FlowControlMachine:
    """Run the machine's steps as hypothesis prints them, checking every invariant after each.

    The machine drains what is left at the end (teardown), so the returned state tells every
    message's fate and, in `decided`, every decision taken, in order.
    """
    state = type("FlowControlMachine", (FlowControlMachine,), {"world": world, "replaying": True})()
    try:
        state.invariants_hold()
        for name, arguments in steps:
            getattr(state, name)(**arguments)
            state.invariants_hold()
    finally:
        state.teardown()
    return state


# Bugs the machine found (fixed since: throttle slots are held by attempts, and a re-sent decision
# parks a message once), each kept as the sequence that showed it.


def test_a_throttled_message_and_its_retry_never_run_at_once_after_a_crash(model_world):
    state = replay(
        model_world,
        ("send", {"kind": "throttle", "key": "a"}),
        ("start", {}),
        ("finish_with_retryable_failure", {"pick": 0, "ack_now": False}),  # the ack has not reached Redis
        ("restart", {}),  # the worker dies: its unacked first delivery is redelivered
        ("retry_becomes_due", {}),  # Retries' copy, same message id, on the queue too
        ("start", {}),  # the redelivery waits: its crashed attempt's slot lease is still live
        ("start", {}),  # the copy is another delivery: it is parked until a slot frees
    )
    assert state.decided[:3] == ["throttle: run", "throttle: wait", "throttle: throttled"]
    assert [msg.fate for msg in state.m.messages.values()] == ["succeeded"]  # once drained


def test_a_retry_waits_for_the_slot_its_failed_run_holds_until_the_late_give_back(model_world):
    state = replay(
        model_world,
        ("send", {"kind": "throttle", "key": "a"}),
        ("start", {}),
        ("finish_with_retryable_failure", {"pick": 0, "ack_now": False}),  # the ack is slow
        ("retry_becomes_due", {}),
        ("start", {}),  # the retry is parked: the failed attempt holds the slot until its give-back
        ("send", {"kind": "throttle", "key": "a"}),
        ("start", {}),  # a newcomer is parked behind it
        ("ack_later", {"pick": 0}),  # the give-back frees the slot
        ("flow_control_tick", {}),  # and the tick claims it for the retry, first in line
        ("send", {"kind": "throttle", "key": "a"}),
        ("start", {}),  # the retry runs on the claimed slot
        ("start", {}),  # the next newcomer finds it taken
    )
    assert state.decided[:5] == [
        "throttle: run",
        "throttle: throttled",
        "throttle: throttled",
        "throttle: run",
        "throttle: throttled",
    ]
    assert [msg.fate for msg in state.m.messages.values()] == ["succeeded"] * 3  # once drained


def test_a_throttled_message_whose_decision_reply_was_lost_is_parked_once(model_world):
    state = replay(
        model_world,
        ("send", {"kind": "throttle", "key": "a"}),
        ("start", {}),  # the first takes the only slot
        ("send", {"kind": "throttle", "key": "a"}),
        ("start_after_a_lost_reply", {}),  # the second is parked, the reply lost, the call re-sent
        ("finish_with_final_failure", {"pick": 0, "ack_now": True}),  # the slot is given back
        ("flow_control_tick", {}),  # and handed to the parked message
        ("start", {}),
        ("crash_a_run", {"pick": 0}),
        ("time_passes", {"delta": 605_000}),
        ("flow_control_tick", {}),  # no second parked entry: nothing is queued again
        ("redeliver_a_crashed_run", {"pick": 0}),
        ("start", {}),  # the redelivery runs (once)
    )
    assert state.decided[:4] == ["throttle: run", "throttle: throttled", "throttle: run", "throttle: run"]
    assert [msg.fate for msg in state.m.messages.values()] == ["dead", "succeeded"]  # once drained


def test_a_throttled_message_parked_by_a_re_sent_decision_never_runs_twice_at_once(model_world):
    w, client = model_world, model_world.client
    client.flushdb()
    throttled = w.actors["throttle"]
    parked_key = w.keys.throttle(throttled.actor_name, "a") + ":parked"
    throttled.send("a", 1)
    second = throttled.send("a", 2)
    holder, holder_consumer = fetch(w)
    w.flow.before_process_message(w.broker, holder)  # runs: the only slot is its
    waiting, consumer = fetch(w)
    with replies_lost(w, "before_process", resent=True), pytest.raises(SkipMessage):
        w.flow.before_process_message(w.broker, waiting)  # parked; the reply lost, the call re-sent
    consumer.ack(waiting)
    assert client.llen(parked_key) == 1, "a re-sent decision parks the message once"
    holder.fail()  # the holder fails for good: its slot is given back
    w.flow.after_process_message(w.broker, holder, exception=RuntimeError("fatal"))
    holder_consumer.nack(holder)
    w.flow._tick()  # hands the slot to the parked message: back on the queue
    unparked, _ = fetch(w)
    w.flow.before_process_message(w.broker, unparked)  # runs...
    forget_run(w, unparked)  # ...and its worker dies
    w.let_time_pass(2 * LEASE_MS + 5_000)  # its lease (and its slot's) ran out
    w.flow._tick()  # nothing is parked any more: nothing is queued
    rid = second.options["redis_message_id"]
    assert client.srem(w.acks_key, rid) == 1  # Dramatiq's maintenance requeues the dead worker's message
    client.rpush(w.queue_key, rid)
    runs = []
    try:
        while client.llen(w.queue_key):
            copy, _ = fetch(w)
            try:
                w.flow.before_process_message(w.broker, copy)
                runs.append(copy)
            except SkipMessage:
                pass
    finally:
        for copy in runs:
            forget_run(w, copy)
        client.flushdb()
    assert len(runs) == 1, f"message 2 runs {len(runs)} times at once (throttle_limit=1)"


# Found since, and fixed: a slot held by the delivery let a swept redelivery run beside its first run;
# a leased slot now names the attempt running it (`…:attempts`), and another attempt waits.


def test_a_redelivery_of_a_throttled_message_whose_first_run_still_goes_on_does_not_run_beside_it(
    model_world,
):
    w, client = model_world, model_world.client
    client.flushdb()
    w.actors["throttle"].send("a", 1)
    first, _ = fetch(w)
    w.flow.before_process_message(w.broker, first)  # runs, holding the key's only slot (lease live)
    rid = first.options["redis_message_id"]
    assert client.srem(w.acks_key, rid) == 1  # Dramatiq's maintenance finds the worker's heartbeat stale
    client.rpush(w.queue_key, rid)  # and requeues its unacked message, while the run still goes on
    redelivered, _ = fetch(w)
    try:
        w.flow.before_process_message(w.broker, redelivered)
        decided = "run"
    except SkipMessage:
        decided = str(getattr(redelivered, DECIDED_SKIP))
    finally:
        forget_run(w, first)
        forget_run(w, redelivered)
        client.flushdb()
    assert decided == "wait", f"the redelivery {decided} beside its first run (throttle_limit=1)"


def fetch(world: World) -> tuple[Any, Any]:
    """The next delivery, as a worker's consumer fetches it (prefetch 1, so one consumer each)."""
    consumer = world.broker.consume("default", prefetch=1, timeout=1)
    proxy = next(consumer)
    assert proxy is not None
    return proxy, consumer


# Interleavings the search reaches only now and then, kept as plain replays.


def test_a_success_after_another_run_took_the_expired_lease_is_refused(model_world):
    state = replay(
        model_world,
        ("send", {"kind": "idem", "key": "a"}),
        ("start", {}),
        ("send_duplicate", {"pick": 0}),
        ("time_passes", {"delta": 605_000}),  # the first run's lease ran out (its renewal failed)
        ("start", {}),  # the duplicate takes the key over
        ("finish_with_success", {"pick": 0, "ack_now": True}),  # the first run ends after all: refused
    )
    assert [msg.fate for msg in state.m.messages.values()] == ["lease_lost", "succeeded"]


def test_a_duplicate_parked_behind_a_crashed_run_runs_once_its_lease_ran_out(model_world):
    state = replay(
        model_world,
        ("send", {"kind": "keep", "key": "a"}),
        ("start", {}),
        ("send_duplicate", {"pick": 0}),
        ("start", {}),  # waits: parked on the key
        ("crash_a_run", {"pick": 0}),
        ("time_passes", {"delta": 605_000}),
        ("flow_control_tick", {}),  # the crashed run's lease is over: the duplicate is woken
        ("start", {}),  # and takes the key over
        ("redeliver_a_crashed_run", {"pick": 0}),
        ("start", {}),  # the crashed run's redelivery waits for the new owner
        ("finish_with_final_failure", {"pick": 0, "ack_now": True}),  # kept as failed: F record
        ("start", {}),  # the redelivery is now a duplicate of a decided key
    )
    assert [msg.fate for msg in state.m.messages.values()] == ["duplicate", "dead"]


def test_a_crashed_runs_throttle_slot_goes_to_the_parked_message_once_its_lease_ran_out(model_world):
    state = replay(
        model_world,
        ("send", {"kind": "throttle", "key": "a"}),
        ("start", {}),
        ("crash_a_run", {"pick": 0}),
        ("send", {"kind": "throttle", "key": "a"}),
        ("start", {}),  # parked: the crashed run still holds the slot
        ("time_passes", {"delta": 605_000}),
        ("flow_control_tick", {}),  # the slot is free: handed to the parked message
        ("start", {}),
        ("finish_with_success", {"pick": 0, "ack_now": True}),
    )
    assert [msg.fate for msg in state.m.messages.values()] == ["succeeded", "succeeded"]


def test_a_refused_success_whose_ack_reply_was_lost_is_counted_when_the_ack_is_re_sent(model_world):
    state = replay(
        model_world,
        ("send", {"kind": "idem", "key": "a"}),
        ("start", {}),
        ("send_duplicate", {"pick": 0}),
        ("time_passes", {"delta": 605_000}),  # the first run's lease ran out (its renewal failed)
        ("start", {}),  # the duplicate takes the key over
        ("finish_with_success", {"pick": 0, "ack_now": False}),  # the first run ends after all
        ("ack_whose_reply_is_lost", {"pick": 0}),  # refused in Redis, the reply lost: not counted yet
        ("ack_later", {"pick": 0}),  # Dramatiq re-sends the ack: refused again, counted now
    )
    assert [msg.fate for msg in state.m.messages.values()] == ["lease_lost", "succeeded"]
