"""The shared fixtures (registered as a pytest plugin by tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import dramatiq
import psycopg
import pytest
import redis
from dramatiq.brokers.redis import RedisBroker
from starlette.testclient import TestClient

from tests.support.graph_api import GraphApi
from tests.support.http_peer import HttpPeer
from tests.support.restartable_redis import RestartableRedis
from tests.support.tcp_proxy import TcpProxy
from tests.support.worker_process import WorkerProcess
from zapq.embeddings.providers import EmbeddingProvider, Vectors


@pytest.fixture(scope="session")
def settings():  # type: ignore[no-untyped-def]
    from zapq.runtime import boot

    return boot()


@pytest.fixture(scope="session")
def broker(settings) -> RedisBroker:  # type: ignore[no-untyped-def]
    import actors
    from actors.broker import bind_broker

    # Worker processes get these from `dramatiq actors:boot`; the in-process worker needs them too
    # (not the metrics directory: this process counts in memory, where tests read the counts).
    bind_broker(actors.broker, settings.redis_url)
    actors.broker.emit_after("process_boot")
    return actors.broker


@pytest.fixture
def redis_client(settings) -> Iterator[redis.Redis]:  # type: ignore[no-untyped-def]
    client = redis.Redis.from_url(settings.redis_url)
    yield client
    client.close()


@pytest.fixture
def db(settings) -> Iterator[psycopg.Connection]:  # type: ignore[no-untyped-def]
    with psycopg.connect(settings.database_url, autocommit=True) as connection:
        yield connection


@pytest.fixture(autouse=True)
def clean_state(request: pytest.FixtureRequest) -> None:
    """Empty Redis and every table but the migration ledger: cheap, and no test sees another's rows.

    For every test but a `unit` one, which boots nothing. Also forgets cached settings,
    which an earlier test may have read with its own environment.
    """
    from zapq.settings import get_settings

    get_settings.cache_clear()
    if request.node.get_closest_marker("unit") is not None:
        return
    # Every other test may reach the session's servers, if only through the environment its
    # processes inherit (REDIS_URL, DATABASE_URL), so they are booted for it.
    settings = request.getfixturevalue("settings")
    client = redis.Redis.from_url(settings.redis_url)
    client.flushall()
    client.close()
    with psycopg.connect(settings.database_url, autocommit=True) as connection:
        tables = [
            row[0]
            for row in connection.execute(
                "SELECT tablename FROM pg_tables"
                " WHERE schemaname = 'public' AND tablename <> 'schema_migrations'"
            )
        ]
        if tables:
            connection.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")


@pytest.fixture
def worker(broker: RedisBroker) -> Iterator[dramatiq.Worker]:
    """An in-process worker on the real Redis broker, for tests that don't need to kill it."""
    worker = dramatiq.Worker(broker, worker_threads=4, worker_timeout=100)
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture
def worker_process(settings, broker, tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:  # type: ignore[no-untyped-def]
    """Start real `dramatiq` worker processes; all are killed at teardown.

    With `broker` bound in this process too: a test sends the messages its workers take, and which
    test of a session binds the broker first depends on how xdist shares the tests out.
    """
    started: list[WorkerProcess] = []

    def start(module: str = "actors", **options: object) -> WorkerProcess:
        process = WorkerProcess(module, log_dir=tmp_path, **options)  # type: ignore[arg-type]
        started.append(process)
        return process.start()

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def http_peer() -> Iterator[HttpPeer]:
    """A real HTTP server on 127.0.0.1 standing in for Graph API, CRM, LLM or n8n."""
    peer = HttpPeer().start()
    yield peer
    peer.stop()


@pytest.fixture
def web_client(broker: RedisBroker) -> Iterator[TestClient]:
    from web.app import create_app

    with TestClient(create_app()) as client:
        yield client


@pytest.fixture
def graph_api(http_peer: HttpPeer, monkeypatch: pytest.MonkeyPatch) -> Iterator[GraphApi]:
    """The Cloud API stand-in, with WHATSAPP_API_URL pointing at it for this test's settings."""
    from zapq.settings import get_settings
    from zapq.whatsapp.client import reset_token_circuit

    monkeypatch.setenv("WHATSAPP_API_URL", http_peer.url)
    get_settings.cache_clear()
    reset_token_circuit()
    yield GraphApi(http_peer)


@pytest.fixture
def crm(monkeypatch: pytest.MonkeyPatch) -> Iterator[HttpPeer]:
    """A CRM stand-in receiving handoff notices (HANDOFF_WEBHOOK_URL)."""
    from zapq.settings import get_settings

    peer = HttpPeer().start()
    monkeypatch.setenv("HANDOFF_WEBHOOK_URL", f"{peer.url}/handoffs")
    get_settings.cache_clear()
    yield peer
    peer.stop()


@pytest.fixture
def inventory(db: psycopg.Connection) -> int:
    """The demo stock (`make seed`)."""
    from zapq.conversation.seed import seed_inventory

    return seed_inventory(db)


@pytest.fixture(scope="session")
def local_model() -> EmbeddingProvider:
    """The real local model (multilingual-e5-small), loaded once per test process."""
    from zapq.embeddings.local import LocalE5

    return LocalE5()


@pytest.fixture(scope="session")
def vehicle_vectors(local_model: EmbeddingProvider) -> dict[bytes, tuple[str, Vectors]]:
    """Vehicle vectors by content hash, kept across a process's tests: the stock is embedded once."""
    return {}


@pytest.fixture
def embedded_inventory(
    db: psycopg.Connection, inventory: int, local_model: EmbeddingProvider,
    vehicle_vectors: dict[bytes, tuple[str, Vectors]],
) -> int:  # fmt: skip
    """The demo stock with every car embedded by the local model, as `embed_stock` leaves it."""
    from zapq.embeddings.providers import embed_parts
    from zapq.embeddings.store import store_embedding, vehicles_missing_embeddings
    from zapq.embeddings.texts import EmbeddingKind, content_hash, vehicle_parts

    for vehicle in vehicles_missing_embeddings(db, local_model.model):
        parts = vehicle_parts(vehicle)
        digest = content_hash(EmbeddingKind.VEHICLE, parts)
        if digest not in vehicle_vectors:
            vehicle_vectors[digest] = (parts[0], embed_parts(local_model, parts))
        text, vector = vehicle_vectors[digest]
        store_embedding(db, local_model.model, EmbeddingKind.VEHICLE, digest, text, vector)
    return inventory


@pytest.fixture
def whatsapp(graph_api: GraphApi, broker: RedisBroker) -> Iterator[TestClient]:
    """The web app, created after `graph_api` changed the settings."""
    from web.app import create_app

    with TestClient(create_app()) as client:
        yield client


@pytest.fixture
def restartable_redis(tmp_path: Path) -> Iterator[RestartableRedis]:
    """A redis-server of this test's own, which it may kill and restart (AOF in tmp_path/redis)."""
    server = RestartableRedis(tmp_path / "redis").start()
    yield server
    server.stop()


@pytest.fixture
def tcp_proxy_factory() -> Iterator[Callable[[str, int], TcpProxy]]:
    """Start TCP proxies in front of (host, port); all are stopped at teardown."""
    started: list[TcpProxy] = []

    def start(host: str, port: int) -> TcpProxy:
        proxy = TcpProxy(host, port).start()
        started.append(proxy)
        return proxy

    yield start
    for proxy in started:
        proxy.stop()
