"""Routing's own answers (unknown path, wrong method) have the JSON error body every endpoint uses."""

from __future__ import annotations

import httpx
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support.web_server import WebServer
from web.app import create_app


def test_an_unknown_path_is_a_404_with_the_json_error_body(web_client):
    response = web_client.get("/no/such/thing")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "error": "not_found",
        "detail": "no endpoint at this path (see docs/http-api.md)",
    }


def test_a_wrong_method_is_a_405_with_the_json_error_body_and_every_allowed_method(web_client):
    response = web_client.delete("/webhook/whatsapp")

    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, POST"  # two routes share the path
    assert response.json() == {
        "error": "method_not_allowed",
        "detail": "DELETE is not allowed here; use GET, HEAD, POST",
    }


def test_a_wrong_method_on_a_one_route_path_names_its_method(web_client):
    response = web_client.get("/webhook")

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["error"] == "method_not_allowed"


def test_a_bug_is_a_500_with_the_json_error_body_and_its_traceback_in_the_log(broker, caplog):
    async def broken(request: Request) -> Response:
        raise RuntimeError("a bug")

    app = create_app()
    app.router.routes.append(Route("/broken", broken))
    server = WebServer(app).start()
    try:
        response = httpx.get(f"{server.url}/broken")
    finally:
        server.stop()

    assert response.status_code == 500
    assert response.json()["error"] == "internal_error"
    assert "RuntimeError: a bug" in caplog.text
