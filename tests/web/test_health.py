"""GET /health and /health/ready: liveness, and a readiness that names what failed and spares PostgreSQL.

Readiness includes what the workers need to reply: a Cloud API that answers and takes the token,
asked of a real HTTP server on 127.0.0.1 (the tests' Graph API stand-in, or the demo's).
"""

from __future__ import annotations

import asyncio
import time

import httpx
import psycopg
from starlette.testclient import TestClient

from tests.support.graph_api import GraphApi, graph_error
from tests.support.http_peer import CannedResponse, HttpPeer
from web.app import create_app
from web.database import APPLICATION_NAME, POOL_MAX_SIZE, open_pool
from web.enqueue import AsyncEnqueuer
from web.health import READY_MAX_AGE_S, readiness_check
from zapq.embedded.redis_server import ensure_redis
from zapq.settings import get_settings

DEAD_POSTGRESQL = "postgresql://nobody@127.0.0.1:1/none"


def test_health_answers_while_the_process_lives(web_client):
    assert web_client.get("/health").json() == {"status": "ok"}


def test_ready_when_redis_postgresql_and_the_cloud_api_answer(whatsapp, graph_api: GraphApi):
    response = whatsapp.get("/health/ready")

    assert response.status_code == 200
    assert response.json() == {"status": "ready"}
    [probe] = graph_api.probes()  # the workers' token, on the business number: it answers and takes it
    assert probe.path.endswith("/100200300") and probe.headers["authorization"] == "Bearer test-access-token"


def test_not_ready_names_the_failed_dependency(whatsapp, broker, tmp_path):
    doomed = ensure_redis(tmp_path / "doomed-redis")
    whatsapp.app.state.enqueuer = AsyncEnqueuer(broker, doomed.url)
    doomed.stop()
    dead_pool = whatsapp.app.state.database = open_pool(DEAD_POSTGRESQL, 20)

    try:
        response = whatsapp.get("/health/ready")
    finally:
        dead_pool.close()

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "failed": ["redis", "postgresql"]}


def test_not_ready_when_no_cloud_api_answers_at_the_configured_url(web_client):
    # tests/conftest.py points WHATSAPP_API_URL at a port nothing listens on.
    response = web_client.get("/health/ready")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "failed": ["whatsapp_api"]}


def test_not_ready_with_whatsapp_credentials_named_when_graph_rejects_the_token(
    http_peer: HttpPeer, monkeypatch, broker
):
    http_peer.default = graph_error(
        190, "Invalid OAuth access token - Cannot parse access token", http_status=401
    )
    monkeypatch.setenv("WHATSAPP_API_URL", http_peer.url)
    get_settings.cache_clear()

    with TestClient(create_app()) as client:
        response = client.get("/health/ready")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "failed": ["whatsapp_credentials"]}


def test_not_ready_with_whatsapp_credentials_named_when_there_is_no_token(monkeypatch, broker):
    # `make web` alone on a fresh machine: no Cloud API configured, so no worker could reply.
    monkeypatch.setenv("WHATSAPP_ACCESS_TOKEN", "")
    monkeypatch.setenv("WHATSAPP_API_URL", "")
    get_settings.cache_clear()

    with TestClient(create_app()) as client:
        response = client.get("/health/ready")

    assert response.json() == {"status": "unavailable", "failed": ["whatsapp_credentials"]}


def test_a_graph_that_is_down_or_rate_limited_is_told_apart(http_peer: HttpPeer, monkeypatch, broker):
    http_peer.enqueue(graph_error(2, "Service temporarily unavailable", http_status=503))
    http_peer.default = graph_error(80007, "Rate limit hit", http_status=400)
    monkeypatch.setenv("WHATSAPP_API_URL", http_peer.url)
    get_settings.cache_clear()

    with TestClient(create_app()) as client:
        down = client.get("/health/ready").json()
        client.app.state.readiness = readiness_check(client.app.state)  # forget the cached answer
        rate_limited = client.get("/health/ready").json()

    assert down == {"status": "unavailable", "failed": ["whatsapp_api"]}
    assert rate_limited == {"status": "ready"}


def test_the_token_never_follows_a_redirect_to_another_host(http_peer: HttpPeer, monkeypatch, broker):
    elsewhere = HttpPeer().start()
    http_peer.default = CannedResponse(status=302, headers={"location": f"{elsewhere.url}/steal"})
    monkeypatch.setenv("WHATSAPP_API_URL", http_peer.url)
    get_settings.cache_clear()

    try:
        with TestClient(create_app()) as client:
            response = client.get("/health/ready")
    finally:
        elsewhere.stop()

    assert response.json() == {"status": "unavailable", "failed": ["whatsapp_api"]}
    assert elsewhere.received() == []


def test_the_cloud_api_is_asked_at_most_once_in_its_cache_window(whatsapp, graph_api: GraphApi):
    first = whatsapp.get("/health/ready")
    time.sleep(READY_MAX_AGE_S + 0.1)  # Redis and PostgreSQL are asked again; Graph is not
    second = whatsapp.get("/health/ready")

    assert first.status_code == second.status_code == 200
    assert len(graph_api.probes()) == 1


def test_128_concurrent_probes_are_all_ready_on_few_postgresql_connections(
    graph_api: GraphApi, web_server, db: psycopg.Connection
):
    async def probe_all() -> list[int]:
        async with httpx.AsyncClient(base_url=web_server.url, timeout=10) as client:
            answers = await asyncio.gather(*(client.get("/health/ready") for _ in range(128)))
        return [answer.status_code for answer in answers]

    statuses = asyncio.run(probe_all())

    assert statuses == [200] * 128
    connections = db.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (APPLICATION_NAME,)
    ).fetchone()[0]
    assert 1 <= connections <= POOL_MAX_SIZE


def test_the_web_starts_at_once_while_postgresql_is_down_and_says_so(
    graph_api: GraphApi, monkeypatch, broker
):
    monkeypatch.setenv("DATABASE_URL", DEAD_POSTGRESQL)
    get_settings.cache_clear()
    started = time.monotonic()

    with TestClient(create_app()) as client:
        start_up_s = time.monotonic() - started
        response = client.get("/health/ready")

    assert start_up_s < 1.0
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "failed": ["postgresql"]}
