"""What the cluster run proves, read from the Cloud API stand-in's record, Redis and PostgreSQL.

- bursts: one reply owed per burst the service took a customer's messages as (distinct `batch_id`s
  in `inbound_messages`, at least one per customer, as tests/faults counts them); lost and doubled
  are listed by customer, so a loss can be traced;
- in flight on a host: at the cut, every worker's unacked messages (Dramatiq's `__acks__` sets)
  are copied; the workers whose heartbeat stopped with the cut are the host's, and the customers
  their messages carry (or whose burst they flush) are the host's in-flight bursts. The host has
  recovered when no message it held is kept any more: other workers finished every one;
- ticks: `cluster_tick_runs` (rig.py's trigger) holds one row per committed run of `collect_metrics`.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import psycopg
import redis

from tests.support.cloud_api_standin import Delivery
from tests.support.load import Customer
from zapq.keyspace import DEFAULT_NAMESPACE, acks_key_pattern, heartbeat_key, messages_key

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass
class Bursts:
    customers: int = 0
    accepted: int = 0
    owed: int = 0
    answered: int = 0
    lost: list[str] = field(default_factory=list)  # wa_ids short of a reply
    doubled: list[str] = field(default_factory=list)  # wa_ids with a reply too many
    last_owed_reply_at: dict[str, float] = field(default_factory=dict)  # wa_id -> monotonic time

    def line(self) -> str:
        return (
            f"cluster: bursts={self.owed} customers={self.customers} accepted={self.accepted}"
            f" answered={self.answered} lost={len(self.lost)} doubled={len(self.doubled)}"
        )


def bursts_owed(database_url: str) -> dict[str, int]:
    """Customer -> how many bursts the service took their messages as."""
    with psycopg.connect(database_url, connect_timeout=2) as connection:
        rows = connection.execute(
            "SELECT wa_id, count(DISTINCT batch_id) FROM inbound_messages GROUP BY wa_id"
        ).fetchall()
    return {wa_id: int(count) for wa_id, count in rows}


def replies_pending(database_url: str) -> int:
    with psycopg.connect(database_url, connect_timeout=2) as connection:
        row = connection.execute("SELECT count(*) FROM outbound_messages WHERE status = 'pending'").fetchone()
    return int(row[0]) if row else -1


def tally(
    customers: list[Customer], owed_by_customer: dict[str, int], replies: dict[str, list[Delivery]]
) -> Bursts:
    bursts = Bursts(customers=len(customers))
    for customer in customers:
        if not customer.accepted:
            continue
        got = replies.get(customer.wa_id, [])
        owed = max(1, owed_by_customer.get(customer.wa_id, 1))
        bursts.accepted += 1
        bursts.owed += owed
        bursts.answered += min(len(got), owed)
        if len(got) < owed:
            bursts.lost.append(customer.wa_id)
        else:
            bursts.last_owed_reply_at[customer.wa_id] = got[owed - 1].at
        if len(got) > owed:
            bursts.doubled.append(customer.wa_id)
    return bursts


@dataclass
class InFlight:
    """Every worker's unacked messages at one moment: worker id -> message bodies (text)."""

    taken_at_ms: int
    bodies_by_worker: dict[str, list[str]]
    ids_by_worker: dict[str, list[tuple[str, str]]]  # (queue, redis message id)
    debounce_items: dict[str, str]  # batch id -> its items, as text

    def held(self, workers: list[str]) -> int:
        return sum(len(self.ids_by_worker[worker]) for worker in workers)

    def trace(self, client: redis.Redis, workers: list[str]) -> list[dict[str, object]]:
        """Where each of those workers' messages is now: unacked sets, queues, kept bodies."""
        unacked: dict[str, list[str]] = {}
        for raw_key in client.scan_iter(match=acks_key_pattern(DEFAULT_NAMESPACE), count=1000):
            for member in client.smembers(raw_key):
                unacked.setdefault(member.decode(), []).append(raw_key.decode())
        traced: list[dict[str, object]] = []
        for worker in workers:
            for queue, rid in self.ids_by_worker[worker]:
                base = queue.removesuffix(".DQ")
                kept = {}
                for name in (base, f"{base}.DQ"):
                    body = client.hget(messages_key(f"{DEFAULT_NAMESPACE}:{name}"), rid)
                    if body is not None:
                        kept[name] = body.decode(errors="replace")[:600]
                queued = [
                    name for name in (base, f"{base}.DQ")
                    if client.lpos(f"{DEFAULT_NAMESPACE}:{name}", rid) is not None
                ]  # fmt: skip
                traced.append({
                    "worker": worker, "queue": queue, "id": rid, "unacked_in": unacked.get(rid, []),
                    "queued_in": queued, "kept_bodies": kept,
                })  # fmt: skip
        return traced

    def still_pending(self, client: redis.Redis, workers: list[str]) -> int:
        """How many of those workers' messages no worker has finished yet (their bodies are still kept)."""
        pending = 0
        for worker in workers:
            for queue, rid in self.ids_by_worker[worker]:
                base = queue.removesuffix(".DQ")
                pending += any(
                    client.hexists(messages_key(f"{DEFAULT_NAMESPACE}:{name}"), rid)
                    for name in (base, f"{base}.DQ")
                )
        return pending

    def dead_workers(self, client: redis.Redis) -> list[str]:
        """The workers of the copy that have not beaten since (dead, or cut off)."""
        beats = dict(client.zrange(heartbeat_key(DEFAULT_NAMESPACE), 0, -1, withscores=True))
        dead = []
        for worker in self.bodies_by_worker:
            score = beats.get(worker.encode())
            if score is None or score <= self.taken_at_ms + 500:
                dead.append(worker)
        return dead

    def customers_of(self, workers: list[str], known: set[str], database_url: str) -> set[str]:
        """The customers whose messages, or whose burst's flush, those workers held."""
        text = "\n".join(body for worker in workers for body in self.bodies_by_worker[worker])
        batch_ids = set(UUID.findall(text))
        text += "\n".join(items for batch, items in self.debounce_items.items() if batch in batch_ids)
        found = {wa_id for wa_id in known if wa_id in text}
        with psycopg.connect(database_url, connect_timeout=2) as connection:
            rows = connection.execute(
                "SELECT DISTINCT wa_id FROM inbound_messages WHERE batch_id = ANY(%s)", (list(batch_ids),)
            ).fetchall()
        return found | {wa_id for (wa_id,) in rows if wa_id in known}


def copy_in_flight(client: redis.Redis) -> InFlight:
    taken_at_ms = int(time.time() * 1000)
    bodies: dict[str, list[str]] = {}
    ids: dict[str, list[tuple[str, str]]] = {}
    prefix = acks_key_pattern(DEFAULT_NAMESPACE)[:-1]  # "dramatiq:__acks__."
    for raw_key in client.scan_iter(match=acks_key_pattern(DEFAULT_NAMESPACE), count=1000):
        key = raw_key.decode()
        worker, _, queue = key.removeprefix(prefix).partition(".")
        members = list(client.smembers(key))
        if not members:
            continue
        hash_key = messages_key(f"{DEFAULT_NAMESPACE}:{queue}")
        found = [body.decode() for body in client.hmget(hash_key, members) if body]
        bodies.setdefault(worker, []).extend(found)
        ids.setdefault(worker, []).extend((queue, member.decode()) for member in members)
    items: dict[str, str] = {}
    for raw_key in client.scan_iter(match="*:debounce:items:*", count=1000):
        key = raw_key.decode()
        items[key.rsplit(":", 1)[-1]] = json.dumps([i.decode() for i in client.lrange(key, 0, -1)])
    return InFlight(taken_at_ms, bodies, ids, items)


@dataclass
class Ticks:
    runs_by_minute: dict[datetime, int]
    first_run_after: tuple[datetime, datetime] | None  # (tick, ran at) of the first run after a moment

    @property
    def once_each(self) -> bool:
        """Every minute from the first tick to the last ran exactly once: none missed, none twice."""
        if not self.runs_by_minute:
            return False
        minute, last = min(self.runs_by_minute), max(self.runs_by_minute)
        while minute <= last:
            if self.runs_by_minute.get(minute) != 1:
                return False
            minute += timedelta(minutes=1)
        return True

    def describe(self) -> str:
        return ", ".join(f"{minute:%H:%M}x{runs}" for minute, runs in sorted(self.runs_by_minute.items()))


def read_ticks(database_url: str, after: datetime) -> Ticks:
    with psycopg.connect(database_url, connect_timeout=2) as connection:
        rows = connection.execute(
            "SELECT date_trunc('minute', scheduled_at), count(*) FROM cluster_tick_runs GROUP BY 1"
        ).fetchall()
        first = connection.execute(
            "SELECT scheduled_at, ran_at FROM cluster_tick_runs WHERE ran_at > %s ORDER BY ran_at LIMIT 1",
            (after,),
        ).fetchone()
    return Ticks({minute: int(runs) for minute, runs in rows}, (first[0], first[1]) if first else None)


def locate(client: redis.Redis, database_url: str, wa_ids: list[str]) -> dict[str, dict[str, list[str]]]:
    """Where a lost customer's work sits now: their bursts, and the unacked sets and message hashes
    holding a message that names them or their burst (a post-mortem, written next to the logs)."""
    with psycopg.connect(database_url, connect_timeout=2) as connection:
        rows = connection.execute(
            "SELECT wa_id, array_agg(DISTINCT batch_id) FROM inbound_messages"
            " WHERE wa_id = ANY(%s) GROUP BY 1",
            (wa_ids,),
        ).fetchall()
    batches = {wa_id: list(ids) for wa_id, ids in rows}
    found: dict[str, dict[str, list[str]]] = {
        wa_id: {"batch_ids": batches.get(wa_id, []), "unacked_in": [], "bodies_in": []} for wa_id in wa_ids
    }
    unacked: dict[str, str] = {}  # message id -> ack set
    for raw_key in client.scan_iter(match=acks_key_pattern(DEFAULT_NAMESPACE), count=1000):
        for member in client.smembers(raw_key):
            unacked[member.decode()] = raw_key.decode()
    for raw_key in client.scan_iter(match="*.msgs", count=1000):
        for rid, body in client.hgetall(raw_key).items():
            text = body.decode(errors="replace")
            for wa_id, place in found.items():
                if wa_id in text or any(batch in text for batch in place["batch_ids"]):
                    place["bodies_in"].append(f"{raw_key.decode()} {rid.decode()} {text[:400]}")
                    if rid.decode() in unacked:
                        place["unacked_in"].append(unacked[rid.decode()])
    return found
