"""Request bodies under a real uvicorn: bounded in size and time, and a client hanging up is no error.

Raw sockets, because these are about bodies no well-behaved client sends: too large, chunked
without end, too slow, or never finished.
"""

from __future__ import annotations

import json
import select
import socket
import time
from typing import Any

import pytest

from zapq.settings import get_settings

pytestmark = pytest.mark.processes

WHATSAPP_LIMIT = 3 * 1024 * 1024
GENERIC_LIMIT = 64 * 1024


def connect(server: Any) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=10)


def send_head(connection: socket.socket, path: str, headers: dict[str, str]) -> None:
    lines = [f"POST {path} HTTP/1.1", "host: 127.0.0.1", "content-type: application/json"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    connection.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())


def read_response(connection: socket.socket) -> tuple[int, dict[str, str], Any]:
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = connection.recv(65536)
        assert chunk, f"connection closed before a response: {received!r}"
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode().split("\r\n")
    headers = {
        name.lower(): value.strip() for name, _, value in (line.partition(":") for line in header_lines)
    }
    while len(body) < int(headers.get("content-length", "0")):
        body += connection.recv(65536)
    return int(status_line.split()[1]), headers, json.loads(body) if body else None


def closed_by_server(connection: socket.socket, timeout_s: float = 5.0) -> bool:
    connection.settimeout(timeout_s)
    try:
        while connection.recv(65536):
            pass
    except ConnectionResetError:
        pass
    return True


def metrics_text(server: Any) -> str:
    import httpx

    return httpx.get(f"{server.url}/metrics").text


def test_a_declared_body_over_the_limit_gets_413_before_a_byte_of_it_is_sent(web_server):
    with connect(web_server) as connection:
        send_head(connection, "/webhook/whatsapp", {"content-length": str(200 * 1024 * 1024)})

        status, headers, body = read_response(connection)

        assert status == 413
        assert body == {
            "error": "body_too_large",
            "detail": f"the body of this request may be at most {WHATSAPP_LIMIT} bytes",
        }
        assert headers["connection"] == "close"
        assert closed_by_server(connection)


def test_a_chunked_body_is_cut_off_soon_after_the_limit(web_server):
    sent = 0
    with connect(web_server) as connection:
        send_head(connection, "/webhook", {"transfer-encoding": "chunked"})
        chunk = b"4000\r\n" + b"[" * 0x4000 + b"\r\n"
        connection.setblocking(False)
        while sent < 50 * 1024 * 1024:
            readable, writable, _ = select.select([connection], [connection], [], 5)
            if readable:
                break
            if writable:
                try:
                    sent += connection.send(chunk)
                except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                    break
        connection.setblocking(True)

        status, _, body = read_response(connection)

    assert status == 413 and body["error"] == "body_too_large"
    assert sent < 8 * 1024 * 1024  # far less than the 50 MB it would have sent (socket buffers aside)
    assert 'route="/webhook",status="413"' in metrics_text(web_server)


@pytest.fixture
def one_second_bodies(monkeypatch):
    monkeypatch.setenv("WEB_BODY_TIMEOUT_S", "1")
    get_settings.cache_clear()


def test_a_body_that_does_not_arrive_in_time_gets_408_and_its_connection_is_closed(
    one_second_bodies, start_web_server, wait_until
):
    server = start_web_server()
    with connect(server) as connection:
        send_head(connection, "/webhook", {"content-length": "100"})
        connection.sendall(b'{"unique_id": ')
        started = time.monotonic()

        status, headers, body = read_response(connection)

        assert status == 408 and body["error"] == "body_timeout"
        assert 0.9 <= time.monotonic() - started < 5
        assert headers["connection"] == "close"
        assert closed_by_server(connection)
    wait_until(lambda: server.open_connections == 0, timeout=5)
    assert 'route="/webhook",status="408"' in metrics_text(server)


def test_a_body_dribbled_a_byte_at_a_time_still_has_to_arrive_in_time(one_second_bodies, start_web_server):
    server = start_web_server()
    with connect(server) as connection:
        send_head(connection, "/webhook", {"content-length": "1000"})
        started = time.monotonic()
        connection.setblocking(False)
        while not select.select([connection], [], [], 0.1)[0]:
            connection.send(b" ")
            assert time.monotonic() - started < 5, "no answer while the body kept dribbling in"
        connection.setblocking(True)

        status, _, _ = read_response(connection)

    assert status == 408


def test_many_slow_uploads_are_all_closed_after_the_timeout(one_second_bodies, start_web_server, wait_until):
    server = start_web_server()
    connections = [connect(server) for _ in range(200)]
    for connection in connections:
        send_head(connection, "/webhook/whatsapp", {"content-length": "3000000"})
        connection.sendall(b"{" * 1000)

    wait_until(lambda: server.open_connections == 0, timeout=10, what="every slow upload closed")

    for connection in connections:
        connection.close()


def test_a_client_that_hangs_up_mid_upload_is_counted_as_499_without_a_traceback(
    web_server, wait_until, caplog
):
    with connect(web_server) as connection:
        send_head(connection, "/webhook/whatsapp", {"content-length": "100000"})
        connection.sendall(b'{"object": "whatsapp_business_account", "entry": [')

    wait_until(lambda: 'route="/webhook/whatsapp",status="499"' in metrics_text(web_server), timeout=5)
    assert 'status="500"' not in metrics_text(web_server)
    assert "Traceback" not in caplog.text and "Exception in ASGI application" not in caplog.text
