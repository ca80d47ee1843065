"""One fault scenario's rig: its own Redis and PostgreSQL, a Cloud API stand-in, `make run`, the load.

A scenario starts the load, injects its fault while customers are writing, and then waits for
the outcome: every accepted customer answered and no reply still owed in the outbound ledger,
or the recovery deadline (`RECOVERY_DEADLINE_S` after the fault ended), then `SETTLE_S` more for
late doubles. The verdict comes from what the Cloud API stand-in delivered, per customer:

- accepted: customers all of whose messages got 200 (Meta-style retries until then);
- owed: one reply per burst the service took the customer's messages as (distinct `batch_id`s in
  `inbound_messages`; at least one). Messages accepted more than the debounce window apart, as
  when Redis was down between them, are rightly answered once per burst; `split` counts them;
- answered: customers with a reply; lost: accepted customers with fewer replies than owed by the
  deadline; doubled: customers with more replies than owed (mark-as-read is no reply);
- doubled_in_doubt: the doubled customers docs/operations.md accepts: one of their sends hung past the
  client's timeout and its status webhook never came (the stand-in dropped it), so after the
  adopt window the retry sent again;
- recovery_s: from the end of the fault to the last customer's owed reply;
- dead_letters: messages Dramatiq gave up on, by actor.
"""

from __future__ import annotations

import collections
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import redis

from tests.support import meta_samples as meta
from tests.support.cloud_api_standin import CloudApiStandIn, Delivery
from tests.support.load import WebhookLoad
from tests.support.restartable_postgres import RestartablePostgres
from tests.support.restartable_redis import RestartableRedis
from tests.support.zapq_run import GENERIC_WEBHOOK_ENV, ZapqRun, free_port

APP_SECRET = "fault-app-secret"
RECOVERY_DEADLINE_S = 120.0
SETTLE_S = 5.0
POLL_S = 1.0

# What docs/configuration.md requires for a WhatsApp service, plus the time compressions
# tests/conftest.py uses (a dead worker's messages come back within seconds). The retry cap is
# 30 s instead of 300 s so that the first retry after an outage comes within the deadline.
SERVICE_SETTINGS = {
    "WHATSAPP_ACCESS_TOKEN": "fault-access-token",
    "WHATSAPP_PHONE_NUMBER_ID": meta.PHONE_NUMBER_ID,
    "WHATSAPP_WEBHOOK_SECRET": APP_SECRET,
    "WHATSAPP_VERIFY_TOKEN": "fault-verify-token",
    "ADMIN_API_TOKEN": "fault-admin-token",
    "HANDOFF_WEBHOOK_SECRET": "fault-crm-secret",
    "DEBOUNCE_WINDOW_SECONDS": "1",
    "REDIS_HEARTBEAT_TIMEOUT_S": "2",
    "REDIS_MAINTENANCE_CHANCE": "1000000",
    "FLOW_LEASE_MS": "3000",
    "RETRY_MAX_BACKOFF_MS": "30000",
    "LOG_LEVEL": "INFO",
}


@dataclass
class Outcome:
    name: str
    customers: int
    accepted: int = 0
    answered: int = 0
    lost: int = 0
    doubled: int = 0
    doubled_in_doubt: int = 0
    split: int = 0
    recovery_s: float | None = None
    dead_letters: dict[str, int] = field(default_factory=dict)
    extra: dict[str, str] = field(default_factory=dict)
    doubles: list[str] = field(default_factory=list)  # what each double not in doubt looked like

    def line(self) -> str:
        recovery = "none" if self.recovery_s is None else f"{self.recovery_s:.1f}"
        dead = ",".join(f"{actor}:{count}" for actor, count in sorted(self.dead_letters.items())) or "0"
        extra = "".join(f" {name}={value}" for name, value in self.extra.items())
        return (
            f"fault: {self.name} accepted={self.accepted} answered={self.answered} lost={self.lost}"
            f" doubled={self.doubled} doubled_in_doubt={self.doubled_in_doubt} recovery_s={recovery}"
            f" split={self.split} dead_letters={dead}{extra}"
        )


class FaultRig:
    """Everything one scenario runs against, under `directory` (wiped first, logs kept after)."""

    def __init__(self, name: str, directory: Path) -> None:
        self.name = name
        self.directory = directory
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        self.redis = RestartableRedis(directory / "redis")
        self.postgres = RestartablePostgres(directory / "postgres")
        self.cloud_api = CloudApiStandIn(APP_SECRET)
        self.service: ZapqRun | None = None
        self.load: WebhookLoad | None = None
        self.keep_data = False  # a failed scenario keeps its database for a post-mortem

    def start(self) -> FaultRig:
        self.redis.start()
        self.configure_redis_like_the_embedded_one()
        self.postgres.start()
        self.cloud_api.start()
        settings = {
            **SERVICE_SETTINGS,
            **GENERIC_WEBHOOK_ENV,
            "REDIS_URL": self.redis.url,
            "DATABASE_URL": self.postgres.url,
            "WHATSAPP_API_URL": self.cloud_api.url,
            "ZAPQ_DATA_DIR": str(self.directory / "zapq"),
            "WEB_PORT": str(free_port()),
            "METRICS_PORT": str(free_port()),
        }
        self.service = ZapqRun(settings, log_path=self.directory / "zapq-run.log").start()
        self.cloud_api.post_statuses_to(f"{self.service.web_url}/webhook/whatsapp")
        return self

    def configure_redis_like_the_embedded_one(self) -> None:
        """RestartableRedis fsyncs every write; zapq's embedded Redis (and so this test) once a second."""
        client = redis.Redis.from_url(self.redis.url)
        client.config_set("appendfsync", "everysec")
        client.close()

    def start_load(self) -> WebhookLoad:
        assert self.service is not None, "start() first"
        self.load = WebhookLoad(f"{self.service.web_url}/webhook/whatsapp", APP_SECRET).start()
        return self.load

    def sleep_until(self, seconds_after_load_start: float) -> None:
        assert self.load is not None, "start_load() first"
        time.sleep(max(0.0, self.load.started_at + seconds_after_load_start - time.monotonic()))

    def outcome_after(self, fault_ended_at: float) -> Outcome:
        """Wait for the service to answer everyone (or the deadline), then tally the replies."""
        assert self.service is not None and self.load is not None
        deadline = fault_ended_at + RECOVERY_DEADLINE_S
        while time.monotonic() < deadline and self.service.alive:
            if self.load.finished and self._settled():
                break
            time.sleep(POLL_S)
        time.sleep(SETTLE_S)
        self.load.stop()
        return self._tally(fault_ended_at)

    def close(self) -> list[str]:
        """Stop everything; returns what was left running (and then killed), which should be nothing."""
        left: list[str] = []
        if self.load is not None:
            self.load.stop()
        if self.service is not None:
            self.service.stop()
            left += [f"zapq.run process {pid}" for pid in self.service.kill_leftovers()]
        self.cloud_api.stop()
        self.redis.stop()
        self.postgres.stop()
        left += [f"postgres process {pid}" for pid in self.postgres.leftover_pids()]
        self.postgres.kill()
        if self.redis.running:
            left.append(f"redis-server {self.redis.pid}")
            self.redis.kill()
        if not self.keep_data:
            shutil.rmtree(self.postgres.pgdata, ignore_errors=True)
        return left

    def report(self, outcome: Outcome) -> None:
        """Print the scenario's line, then hold it to the promise: everyone accepted, answered once."""
        print(f"\n{outcome.line()}", flush=True)
        self.keep_data = bool(outcome.lost or outcome.doubles or outcome.accepted < outcome.customers)
        log = self.directory / "zapq-run.log"
        doubles = "".join(f"\n  {double}" for double in outcome.doubles[:5])
        context = (
            f"{outcome.line()}\ndoubles not in doubt, times from the end of the fault:{doubles or ' none'}"
            f"\nlast warnings of the service ({log}):\n{_warnings_in(log)}"
        )
        assert outcome.accepted == outcome.customers, f"the service never took every customer\n{context}"
        assert outcome.lost == 0, f"accepted customers left unanswered\n{context}"
        assert outcome.doubled - outcome.doubled_in_doubt == 0, f"customers answered twice\n{context}"

    def _settled(self) -> bool:
        """Every accepted customer has the replies owed, and the ledger owes no reply."""
        assert self.load is not None
        try:
            owed = self._bursts()
            with psycopg.connect(self.postgres.url, connect_timeout=2) as connection:
                row = connection.execute(
                    "SELECT count(*) FROM outbound_messages WHERE status = 'pending'"
                ).fetchone()
        except psycopg.Error:
            return False
        replies = self.cloud_api.replies_by_recipient()
        everyone_answered = all(
            len(replies.get(customer.wa_id, [])) >= owed.get(customer.wa_id, 1)
            for customer in self.load.accepted()
        )
        return everyone_answered and row is not None and row[0] == 0

    def _bursts(self) -> dict[str, int]:
        """Customer -> how many bursts the service took their messages as."""
        with psycopg.connect(self.postgres.url, connect_timeout=2) as connection:
            rows = connection.execute(
                "SELECT wa_id, count(DISTINCT batch_id) FROM inbound_messages GROUP BY wa_id"
            ).fetchall()
        return {wa_id: int(count) for wa_id, count in rows}

    def _tally(self, fault_ended_at: float) -> Outcome:
        assert self.load is not None
        outcome = Outcome(self.name, customers=len(self.load.people))
        try:
            bursts = self._bursts()
        except psycopg.Error:
            bursts = {}
        replies = self.cloud_api.replies_by_recipient()
        owed_reply_times: list[float] = []
        for customer in self.load.accepted():
            got: list[Delivery] = replies.get(customer.wa_id, [])
            owed = max(1, bursts.get(customer.wa_id, 1))
            outcome.accepted += 1
            outcome.answered += bool(got)
            outcome.split += owed > 1
            if len(got) < owed:
                outcome.lost += 1
            else:
                owed_reply_times.append(got[owed - 1].at)
            if len(got) > owed:
                outcome.doubled += 1
                if any(d.hung and not d.status_posted for d in got):
                    outcome.doubled_in_doubt += 1
                else:
                    outcome.doubles.append(self._describe(customer.wa_id, got, fault_ended_at))
        if outcome.lost == 0 and owed_reply_times:
            outcome.recovery_s = max(0.0, max(owed_reply_times) - fault_ended_at)
        outcome.dead_letters = self._dead_letters()
        messages = sum(len(customer.wamids) for customer in self.load.people)
        outcome.extra["webhook_retries"] = str(
            sum(customer.posts for customer in self.load.people) - messages
        )
        return outcome

    def _describe(self, wa_id: str, replies: list[Delivery], fault_ended_at: float) -> str:
        """A customer's replies, timed from the end of the fault, with when the service took each status."""
        parts = []
        for reply in replies:
            taken = self.cloud_api.status_taken_at(reply.wamid)
            status = "never" if taken is None else f"{taken - fault_ended_at:+.1f}s"
            parts.append(f"{reply.wamid} at {reply.at - fault_ended_at:+.1f}s (status taken {status})")
        return f"{wa_id}: {'; '.join(parts)}"

    def _dead_letters(self) -> dict[str, int]:
        """Actor name -> messages in Dramatiq's dead-letter queues."""
        counts: collections.Counter[str] = collections.Counter()
        try:
            client = redis.Redis.from_url(self.redis.url)
            for key in client.scan_iter(match="*.XQ.msgs"):
                for body in client.hvals(key):
                    counts[json.loads(body).get("actor_name", "?")] += 1
            client.close()
        except (redis.RedisError, ValueError):
            counts["unreadable"] += 1
        return dict(counts)


def _warnings_in(log: Path, lines: int = 40) -> str:
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return "(no log)"
    marks = ("WARNING", "ERROR", "CRITICAL", "Traceback", "exited")
    return "\n".join([line for line in text.splitlines() if any(mark in line for mark in marks)][-lines:])
