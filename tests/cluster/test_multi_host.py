"""Web and worker nodes over one Redis and PostgreSQL survive losing a worker host and a scheduler host.

200 customers write bursts through both web nodes (each POST, retries included, to the next
node). Mid-load, worker host wk1 drops off the network and, `CUT_TO_KILL_S` later, loses power;
then scheduler host sch1 goes the same way. Every burst must be answered exactly once, and the
every-minute tick must have run exactly once a minute, with at least `TICKS_AFTER_KILL` after the
scheduler host died. The summary lines (`cluster: ...`) are the figures docs/scaling.md quotes.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import redis

from tests.cluster import verdict
from tests.cluster.rig import SCHEDULERS, WORKERS, ClusterRig
from tests.faults.harness import APP_SECRET
from tests.support.load import WebhookLoad

CUSTOMERS = 200
SPREAD_S = 12.0
CUT_AT_S = 6.0  # into the load: closed bursts are being answered on every worker host
BUSY_WAIT_S = 8.0
BUSY_HOLDING = 2  # messages each worker host holds at the cut (or 1, if the load never gets there)
CUT_TO_KILL_S = 5.0
SCHEDULER_KILL_AT_S = 14.0
ANSWER_DEADLINE_S = 120.0
RECOVERY_DEADLINE_S = 60.0
TICKS_AFTER_KILL = 2
TICK_DEADLINE_S = 190.0
SETTLE_S = 5.0


def test_losing_a_worker_host_and_a_scheduler_host_loses_and_doubles_no_burst_and_no_tick(
    cluster: ClusterRig,
) -> None:
    worker_host, scheduler_host = WORKERS[0], SCHEDULERS[0]
    client = redis.Redis.from_url(cluster.redis_url)
    first, *others = cluster.web_urls
    load = WebhookLoad(
        first, APP_SECRET, customers=CUSTOMERS, spread_s=SPREAD_S, more_webhook_urls=tuple(others)
    ).start()

    _sleep_until(load.started_at + CUT_AT_S)
    in_flight = verdict.copy_in_flight(client)
    busy_until = time.monotonic() + BUSY_WAIT_S
    while not _every_worker_holds(in_flight, BUSY_HOLDING) and time.monotonic() < busy_until:
        time.sleep(0.02)  # cut when every worker host holds messages, so the cut host surely does
        in_flight = verdict.copy_in_flight(client)
    cluster.network.cut(worker_host)
    cut_at = time.monotonic()
    time.sleep(CUT_TO_KILL_S)
    killed = cluster.network.kill(worker_host)
    dead_workers = in_flight.dead_workers(client)
    recovered_at = None
    while recovered_at is None and time.monotonic() < cut_at + RECOVERY_DEADLINE_S:
        if in_flight.still_pending(client, dead_workers) == 0:
            recovered_at = time.monotonic()
        time.sleep(0.1)

    _sleep_until(load.started_at + SCHEDULER_KILL_AT_S)
    cluster.network.cut(scheduler_host)
    cluster.network.kill(scheduler_host)
    scheduler_killed_at = datetime.now(UTC)

    known = {customer.wa_id for customer in load.people}
    cut_customers = in_flight.customers_of(dead_workers, known, cluster.database_url)

    assert cluster.cloud_api is not None
    deadline = cut_at + ANSWER_DEADLINE_S
    while time.monotonic() < deadline and not _settled(cluster, load):
        time.sleep(1.0)
    time.sleep(SETTLE_S)  # late doubles
    load.stop()
    bursts = verdict.tally(
        load.people, verdict.bursts_owed(cluster.database_url), cluster.cloud_api.replies_by_recipient()
    )
    worker_recovery = "none" if recovered_at is None else f"{recovered_at - cut_at:.1f}"

    tick_deadline = time.monotonic() + TICK_DEADLINE_S
    ticks = verdict.read_ticks(cluster.database_url, scheduler_killed_at)
    while time.monotonic() < tick_deadline and _ticks_after(ticks, scheduler_killed_at) < TICKS_AFTER_KILL:
        time.sleep(2.0)
        ticks = verdict.read_ticks(cluster.database_url, scheduler_killed_at)
    scheduler_recovery, tick_lateness = "none", "none"
    if ticks.first_run_after is not None:
        tick, ran_at = ticks.first_run_after
        scheduler_recovery = f"{(ran_at - scheduler_killed_at).total_seconds():.1f}"
        tick_lateness = f"{(ran_at - tick).total_seconds():.1f}"

    posts = sum(customer.posts for customer in load.people)
    summary = [
        bursts.line(),
        f"cluster: lost_ids={','.join(bursts.lost) or '-'} doubled_ids={','.join(bursts.doubled) or '-'}",
        f"cluster: worker_host={worker_host.name} killed_pids={len(killed)}"
        f" dead_worker_ids={len(dead_workers)} in_flight_messages={in_flight.held(dead_workers)}"
        f" in_flight_bursts={len(cut_customers)}",
        f"cluster: worker_host_recovery_s = {worker_recovery}",
        f"cluster: scheduler_host_recovery_s = {scheduler_recovery}"
        f" (that tick ran {tick_lateness} s after its minute)",
        f"cluster: ticks={ticks.describe()} after_kill={_ticks_after(ticks, scheduler_killed_at)}",
        f"cluster: ticks_once_each = {str(ticks.once_each).lower()}",
        f"cluster: webhook_posts={posts} dead_letters={json.dumps(_dead_letters(client))}",
    ]
    print("\n" + "\n".join(summary), flush=True)
    traced = in_flight.trace(client, dead_workers)
    (cluster.directory / "cut_host_messages.json").write_text(json.dumps(traced, indent=1))
    cluster.save_worker_metrics(exclude=worker_host)  # flow control's decisions, for a post-mortem
    cluster.save_database_sessions()
    if recovered_at is None:
        print(f"cluster: the cut host's messages not finished: {json.dumps(traced)}", flush=True)
    if bursts.lost:
        post_mortem = {
            "lost": verdict.locate(client, cluster.database_url, bursts.lost),
            "dead_workers": dead_workers,
            "in_flight_at_cut": in_flight.bodies_by_worker,
        }
        (cluster.directory / "lost.json").write_text(json.dumps(post_mortem, indent=1))
        print(f"cluster: lost bursts, where their work sits: {json.dumps(post_mortem['lost'])}", flush=True)
    assert bursts.accepted == CUSTOMERS, "\n".join(summary)
    assert not bursts.lost, "\n".join(summary)
    assert not bursts.doubled, "\n".join(summary)
    assert ticks.once_each, "\n".join(summary)
    assert _ticks_after(ticks, scheduler_killed_at) >= TICKS_AFTER_KILL, "\n".join(summary)
    assert cut_customers, f"the cut host held no burst: the cut proved nothing\n{chr(10).join(summary)}"
    assert recovered_at is not None, (
        f"the cut host's messages were never finished elsewhere\n{chr(10).join(summary)}"
    )


def _every_worker_holds(in_flight: verdict.InFlight, count: int) -> bool:
    held = [len(ids) for ids in in_flight.ids_by_worker.values()]
    return len(held) >= len(WORKERS) and min(held) >= count


def _settled(cluster: ClusterRig, load: WebhookLoad) -> bool:
    assert cluster.cloud_api is not None
    if not load.finished:
        return False
    owed = verdict.bursts_owed(cluster.database_url)
    replies = cluster.cloud_api.replies_by_recipient()
    answered = all(len(replies.get(c.wa_id, [])) >= owed.get(c.wa_id, 1) for c in load.people)
    return answered and verdict.replies_pending(cluster.database_url) == 0


def _ticks_after(ticks: verdict.Ticks, moment: datetime) -> int:
    return sum(runs for minute, runs in ticks.runs_by_minute.items() if minute > moment)


def _dead_letters(client: redis.Redis) -> dict[str, int]:
    counts: dict[str, int] = {}
    for key in client.scan_iter(match="*.XQ.msgs"):
        for body in client.hvals(key):
            actor = json.loads(body).get("actor_name", "?")
            counts[actor] = counts.get(actor, 0) + 1
    return counts


def _sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.monotonic()))
