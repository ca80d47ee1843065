"""A WhatsApp Cloud API stand-in for fault tests: counts replies per customer, fails or hangs on demand.

A real HTTP server on 127.0.0.1 or `host` (threads, in the test process) answering
`POST /{phone_number_id}/messages` as Meta does: a send gets `{"messages": [{"id": wamid}]}`, a
mark-as-read (`"status": "read"`) gets `{"success": true}` and is no reply. Like Meta, it posts a
signed `sent` status webhook for each message it delivered, `status_delay_s` later, retried until
the service answers 200 (the demo's poster, `zapq.demo.status_webhooks`).

Modes, switched while the service runs:
- `HEALTHY`: as above.
- `FAILING`: every request gets a 500 with Graph's "service temporarily unavailable" body; nothing
  is delivered.
- `HANGING`: the request is taken (a send is delivered: Meta may have sent it, so it counts as a
  reply to the customer) and the answer held `hang_s`, past the client's timeout. What happens to
  the status webhook of a hung send is `hung_statuses`: posted like any other, dropped, or (the
  default) alternately posted and dropped, so one run shows both the adopted send and the
  documented double of a send in doubt whose status never came.
"""

from __future__ import annotations

import enum
import itertools
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.graph_api import graph_error_body
from zapq.demo.status_webhooks import StatusWebhooks

SERVICE_UNAVAILABLE_CODE = 2  # Graph's "Service temporarily unavailable"
DEFAULT_STATUS_DELAY_S = 0.5
DEFAULT_HANG_S = 12.0  # zapq's Cloud API client gives up after 10 s


class Mode(enum.Enum):
    HEALTHY = "healthy"
    FAILING = "failing"
    HANGING = "hanging"


class HungStatuses(enum.Enum):
    """What becomes of the `sent` status webhook of a send whose answer was held past the timeout."""

    POSTED = "posted"
    DROPPED = "dropped"
    ALTERNATE = "alternate"  # the 1st, 3rd, ... hung send's status is posted; the 2nd, 4th, ... dropped


@dataclass(frozen=True)
class Delivery:
    """A message Meta would have delivered to `recipient` (a reply, unlike a mark-as-read)."""

    recipient: str
    wamid: str
    at: float  # time.monotonic()
    hung: bool
    status_posted: bool


class CloudApiStandIn:
    def __init__(
        self,
        app_secret: str,
        *,
        status_delay_s: float = DEFAULT_STATUS_DELAY_S,
        hang_s: float = DEFAULT_HANG_S,
        hung_statuses: HungStatuses = HungStatuses.ALTERNATE,
        host: str = "127.0.0.1",
        send_latency_s: float = 0.0,
    ) -> None:
        self.app_secret = app_secret
        self.status_delay_s = status_delay_s
        self.hang_s = hang_s
        self.hung_statuses = hung_statuses
        self.send_latency_s = send_latency_s  # a healthy send's answer comes this late, as Meta's do
        self.mode = Mode.HEALTHY
        self.answers_by_mode: dict[Mode, int] = dict.fromkeys(Mode, 0)
        self.read_receipts = 0
        self._deliveries: list[Delivery] = []
        self._hung_sends = 0
        self._wamids = itertools.count(1)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._statuses = StatusWebhooks(app_secret, self._stopping)
        self._server = ThreadingHTTPServer((host, 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="cloud-api", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> CloudApiStandIn:
        self._thread.start()
        self._statuses.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes held answers and the status poster
        self._server.shutdown()
        self._server.server_close()
        self._statuses.join()

    def post_statuses_to(self, webhook_url: str) -> None:
        """Where status webhooks go: the service's `/webhook/whatsapp`."""
        self._statuses.webhook_url = webhook_url

    def deliveries(self) -> list[Delivery]:
        with self._lock:
            return list(self._deliveries)

    def replies_by_recipient(self) -> dict[str, list[Delivery]]:
        replies: dict[str, list[Delivery]] = {}
        for delivery in self.deliveries():
            replies.setdefault(delivery.recipient, []).append(delivery)
        return replies

    @property
    def statuses_pending(self) -> int:
        return self._statuses.pending

    def status_taken_at(self, wamid: str) -> float | None:
        """When the service answered 200 to the status webhook of `wamid` (time.monotonic())."""
        return self._statuses.taken_at.get((wamid, "sent"))

    def _answer(self, phone_number_id: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any], float]:
        """(HTTP status, body, seconds to hold the answer) for one request."""
        mode = self.mode
        with self._lock:
            self.answers_by_mode[mode] += 1
            if mode is Mode.FAILING:
                return 500, graph_error_body(SERVICE_UNAVAILABLE_CODE, "Service temporarily unavailable"), 0.0
            hold_s = self.hang_s if mode is Mode.HANGING else 0.0
            if mode is Mode.HEALTHY and "type" in payload:
                hold_s = self.send_latency_s
            if "type" not in payload:  # a mark-as-read with the typing indicator
                self.read_receipts += 1
                return 200, {"success": True}, hold_s
            delivery = self._deliver(payload["to"], hung=mode is Mode.HANGING)
        if delivery.status_posted:
            self._statuses.post(
                phone_number_id, delivery.wamid, delivery.recipient, "sent", delay_s=self.status_delay_s
            )
        body = {
            "messaging_product": "whatsapp",
            "contacts": [{"input": delivery.recipient, "wa_id": delivery.recipient}],
            "messages": [{"id": delivery.wamid}],
        }
        return 200, body, hold_s

    def _deliver(self, recipient: str, *, hung: bool) -> Delivery:
        posted = True
        if hung:
            self._hung_sends += 1
            posted = self.hung_statuses is HungStatuses.POSTED or (
                self.hung_statuses is HungStatuses.ALTERNATE and self._hung_sends % 2 == 1
            )
        delivery = Delivery(
            recipient=recipient,
            wamid=f"wamid.standin.{next(self._wamids)}",
            at=time.monotonic(),
            hung=hung,
            status_posted=posted,
        )
        self._deliveries.append(delivery)
        return delivery

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                parts = self.path.strip("/").split("/")
                if len(parts) < 2 or parts[-1] != "messages":
                    self._reply(404, graph_error_body(100, "Unknown path"))
                    return
                status, body, hold_s = standin._answer(parts[-2], json.loads(raw or b"{}"))
                if hold_s and standin._stopping.wait(hold_s):
                    return  # stopping: the client has long given up
                self._reply(status, body)

            def _reply(self, status: int, body: dict[str, Any]) -> None:
                payload = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # a held answer's client timed out and closed the connection

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
