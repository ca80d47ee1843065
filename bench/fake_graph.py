"""A Cloud API stand-in for benchmarks: answers every send at once and notes when it arrived."""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeGraph:
    def __init__(self) -> None:
        self.sends: list[tuple[str, float]] = []  # (recipient, monotonic time)
        self._ids = itertools.count(1)
        self._run = uuid.uuid4().hex[:12]
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def first_send_to(self, recipient: str) -> float | None:
        with self._lock:
            return next((at for to, at in self.sends if to == recipient), None)

    def _record(self, payload: dict[str, Any]) -> dict[str, Any]:
        if "type" not in payload:
            return {"success": True}
        with self._lock:
            self.sends.append((payload["to"], time.monotonic()))
        # Unique across runs: the bench's database outlives this server, and wamids are unique there.
        return {
            "messaging_product": "whatsapp",
            "messages": [{"id": f"wamid.bench.{self._run}.{next(self._ids)}"}],
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        graph = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                answer = json.dumps(graph._record(json.loads(self.rfile.read(length)))).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
