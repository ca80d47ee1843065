"""A WhatsApp Cloud API stand-in for fault tests: counts replies per customer, fails or hangs on demand.

A real HTTP server on 127.0.0.1 (threads, in the test process) answering
`POST /{phone_number_id}/messages` as Meta does: a send gets `{"messages": [{"id": wamid}]}`, a
mark-as-read (`"status": "read"`) gets `{"success": true}` and is no reply. Like Meta, it posts a
signed `sent` status webhook for each message it delivered, `status_delay_s` later, retried until
the service answers 200.

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
import heapq
import itertools
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from tests.support import meta_samples as meta
from tests.support.graph_api import graph_error_body
from zapq.whatsapp.signature import SIGNATURE_HEADER, sign

SERVICE_UNAVAILABLE_CODE = 2  # Graph's "Service temporarily unavailable"
DEFAULT_STATUS_DELAY_S = 0.5
DEFAULT_HANG_S = 12.0  # zapq's Cloud API client gives up after 10 s
STATUS_RETRY_FIRST_S = 0.5
STATUS_RETRY_MAX_S = 5.0


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
    ) -> None:
        self.app_secret = app_secret
        self.status_delay_s = status_delay_s
        self.hang_s = hang_s
        self.hung_statuses = hung_statuses
        self.mode = Mode.HEALTHY
        self.answers_by_mode: dict[Mode, int] = dict.fromkeys(Mode, 0)
        self.read_receipts = 0
        self._deliveries: list[Delivery] = []
        self._hung_sends = 0
        self._wamids = itertools.count(1)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._statuses = _StatusPoster(app_secret, self._stopping)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
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
        return self._statuses.taken_at.get(wamid)

    def _answer(self, phone_number_id: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any], float]:
        """(HTTP status, body, seconds to hold the answer) for one request."""
        mode = self.mode
        with self._lock:
            self.answers_by_mode[mode] += 1
            if mode is Mode.FAILING:
                return 500, graph_error_body(SERVICE_UNAVAILABLE_CODE, "Service temporarily unavailable"), 0.0
            hold_s = self.hang_s if mode is Mode.HANGING else 0.0
            if "type" not in payload:  # a mark-as-read with the typing indicator
                self.read_receipts += 1
                return 200, {"success": True}, hold_s
            delivery = self._deliver(payload["to"], hung=mode is Mode.HANGING)
        if delivery.status_posted:
            self._statuses.post(phone_number_id, delivery, delay_s=self.status_delay_s)
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


class _StatusPoster(threading.Thread):
    """Posts signed `sent` status webhooks when due, retrying each (as Meta does) until it gets 200."""

    def __init__(self, app_secret: str, stopping: threading.Event) -> None:
        super().__init__(name="cloud-api-statuses", daemon=True)
        self.app_secret = app_secret
        self.webhook_url = ""
        self._stopping = stopping
        self.taken_at: dict[str, float] = {}  # wamid -> when the service answered its status 200
        self._due: list[tuple[float, int, str, bytes, float]] = []  # (when, tie, wamid, body, next backoff)
        self._order = itertools.count()
        self._wake = threading.Condition()

    @property
    def pending(self) -> int:
        with self._wake:
            return len(self._due)

    def post(self, phone_number_id: str, delivery: Delivery, *, delay_s: float) -> None:
        status = meta.status(
            "sent", wamid=delivery.wamid, recipient_id=delivery.recipient, timestamp=str(int(time.time()))
        )
        change = meta.messages_change(statuses=[status], phone_number_id=phone_number_id)
        body = meta.encode(meta.notification(meta.entry(change)))
        self._schedule(time.monotonic() + delay_s, delivery.wamid, body, STATUS_RETRY_FIRST_S)

    def run(self) -> None:
        with httpx.Client(timeout=5.0) as client:
            while not self._stopping.is_set():
                due = self._next_due()
                if due is None:
                    continue
                wamid, body, backoff_s = due
                if self._deliver(client, body):
                    self.taken_at[wamid] = time.monotonic()
                else:
                    retry_at = time.monotonic() + backoff_s
                    self._schedule(retry_at, wamid, body, min(backoff_s * 2, STATUS_RETRY_MAX_S))

    def _schedule(self, when: float, wamid: str, body: bytes, backoff_s: float) -> None:
        with self._wake:
            heapq.heappush(self._due, (when, next(self._order), wamid, body, backoff_s))
            self._wake.notify()

    def _next_due(self) -> tuple[str, bytes, float] | None:
        with self._wake:
            if not self._due or self._due[0][0] > time.monotonic() or not self.webhook_url:
                wait_s = self._due[0][0] - time.monotonic() if self._due else 0.2
                self._wake.wait(timeout=min(max(wait_s, 0.01), 0.2))
                return None
            _, _, wamid, body, backoff_s = heapq.heappop(self._due)
            return wamid, body, backoff_s

    def _deliver(self, client: httpx.Client, body: bytes) -> bool:
        headers = {"content-type": "application/json", SIGNATURE_HEADER: sign(self.app_secret, body)}
        try:
            return client.post(self.webhook_url, content=body, headers=headers).status_code == 200
        except httpx.HTTPError:
            return False
