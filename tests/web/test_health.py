from __future__ import annotations

from web.enqueue import AsyncEnqueuer
from zapq.embedded.redis_server import ensure_redis


def test_health_answers_while_the_process_lives(web_client):
    assert web_client.get("/health").json() == {"status": "ok"}


def test_ready_when_redis_and_postgresql_answer(web_client):
    response = web_client.get("/health/ready")

    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


def test_not_ready_names_the_failed_dependency(web_client, broker, tmp_path):
    doomed = ensure_redis(tmp_path / "doomed-redis")
    web_client.app.state.enqueuer = AsyncEnqueuer(broker, doomed.url)
    doomed.stop()
    web_client.app.state.database_url = "postgresql://nobody@127.0.0.1:1/none"

    response = web_client.get("/health/ready")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "failed": ["redis", "postgresql"]}
