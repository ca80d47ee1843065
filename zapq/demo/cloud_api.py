"""A WhatsApp Cloud API stand-in on 127.0.0.1, so that `make run` without credentials is a local demo.

It answers what `zapq.whatsapp.client` calls as Graph does:

- `POST /{phone_number_id}/messages` with a message: `{"messaging_product": "whatsapp", "contacts":
  [...], "messages": [{"id": "wamid..."}]}`, then, like Meta, signed `sent` and `delivered` status
  webhooks to `webhook_url` (the web's `/webhook/whatsapp`), so the send-once ledger settles;
- the same with `"status": "read"` (mark-as-read, typing indicator): `{"success": true}`;
- `GET /{phone_number_id}` and `GET /me`: the number or the token's owner, as readiness probes ask;
- a wrong bearer token: 401 with Graph's error 190, as Meta answers a bad token.

Every message is printed (`show`) as a person would read it, and kept: the last
`kept_per_customer` per customer for `GET /demo/conversations/{wa_id}?after=N&wait=S` (what
`make chat` long-polls for the bot's replies), and all of them for `sent()` (tests).
"""

from __future__ import annotations

import collections
import itertools
import json
import re
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import msgspec

from zapq.demo.outgoing import Outgoing, OutgoingRequest, describe, outgoing, request_decoder
from zapq.demo.status_webhooks import StatusWebhooks
from zapq.demo.webhooks import DEMO_DISPLAY_PHONE_NUMBER

#: The token `make run` gives its workers in demo mode; the stand-in takes no other.
DEMO_ACCESS_TOKEN = "zapq-demo-token"  # opens nothing but this stand-in
DEFAULT_STATUS_DELAY_S = 0.2
KEPT_PER_CUSTOMER = 50
KEPT_IN_ALL = 10_000
MAX_BODY_BYTES = 1_048_576
MAX_WAIT_S = 30.0

_DIGITS = re.compile("[0-9]{1,32}")
INVALID_TOKEN = 190  # Graph's "Invalid OAuth access token"
INVALID_PARAMETER = 100


def graph_error(code: int, message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "demo"}}


class CloudApiStandIn:
    """The stand-in's HTTP server and what it saw; `start()` it, `stop()` it when done.

    :param app_secret: the web's `WHATSAPP_WEBHOOK_SECRET`, signing the status webhooks.
    :param access_token: the bearer token requests must carry; empty takes any.
    :param send_delay_s: how long the answer to a message send is held (a slow Graph API).
    :param show: where the readable lines go (by default nowhere).
    """

    def __init__(
        self,
        app_secret: str,
        *,
        access_token: str = DEMO_ACCESS_TOKEN,
        webhook_url: str = "",
        host: str = "127.0.0.1",
        port: int = 0,
        send_delay_s: float = 0.0,
        status_delay_s: float = DEFAULT_STATUS_DELAY_S,
        kept_per_customer: int = KEPT_PER_CUSTOMER,
        show: Callable[[str], None] | None = None,
    ) -> None:
        self.access_token = access_token
        self.send_delay_s = send_delay_s
        self.status_delay_s = status_delay_s
        self.kept_per_customer = kept_per_customer
        self.show = show or (lambda line: None)
        self.read_receipts = 0
        self._run = uuid.uuid4().hex[:8]  # wamids stay unique in a database that outlives this run
        self._seq = itertools.count(1)
        self._all: collections.deque[Outgoing] = collections.deque(maxlen=KEPT_IN_ALL)
        self._by_customer: dict[str, collections.deque[Outgoing]] = {}
        self._answered_at: collections.OrderedDict[str, float] = collections.OrderedDict()
        self._arrived = threading.Condition()
        self._showing = threading.Lock()
        self._stopping = threading.Event()
        self.statuses = StatusWebhooks(app_secret, self._stopping, webhook_url=webhook_url)
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        # A short poll interval: stop() returns within it.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="cloud-api", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> CloudApiStandIn:
        self._thread.start()
        self.statuses.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes held answers, long polls and the status poster
        with self._arrived:
            self._arrived.notify_all()
        self._server.shutdown()
        self._server.server_close()
        self.statuses.join(timeout=10)

    def sent(self) -> list[Outgoing]:
        """Every message taken (up to the last 10,000), oldest first."""
        with self._arrived:
            return list(self._all)

    def conversation(self, wa_id: str, *, after: int = 0) -> list[Outgoing]:
        """The messages kept for customer `wa_id` whose `seq` is above `after`."""
        with self._arrived:
            return [message for message in self._by_customer.get(wa_id, ()) if message.seq > after]

    def answered_at(self, wamid: str) -> float | None:
        """When the 200 answer to the send of `wamid` was written (time.monotonic())."""
        return self._answered_at.get(wamid)

    def wait_for_conversation(self, wa_id: str, *, after: int, wait_s: float) -> list[Outgoing]:
        deadline = time.monotonic() + min(wait_s, MAX_WAIT_S)
        with self._arrived:
            while True:
                found = [m for m in self._by_customer.get(wa_id, ()) if m.seq > after]
                remaining = deadline - time.monotonic()
                if found or remaining <= 0 or self._stopping.is_set():
                    return found
                self._arrived.wait(remaining)

    def _take(self, phone_number_id: str, request: OutgoingRequest) -> Outgoing:
        seq = next(self._seq)
        message = outgoing(request, seq=seq, wamid=f"wamid.demo.{self._run}.{seq}")
        with self._arrived:
            self._all.append(message)
            kept = self._by_customer.setdefault(message.to, collections.deque(maxlen=self.kept_per_customer))
            kept.append(message)
            self._arrived.notify_all()
        with self._showing:  # one message's lines together, whatever other sends arrive meanwhile
            self.show(f"to {message.to} ({message.kind}, {message.wamid}, from {phone_number_id}):")
            for line in describe(message):
                self.show(f"  | {line}")
        return message

    def _read(self, request: OutgoingRequest) -> None:
        typing = ", typing..." if request.typing_indicator else ""
        with self._showing:
            self.read_receipts += 1
            self.show(f"read {request.message_id}{typing}")

    def _answered(self, phone_number_id: str, message: Outgoing) -> None:
        with self._arrived:
            self._answered_at[message.wamid] = time.monotonic()
            if len(self._answered_at) > KEPT_IN_ALL:
                self._answered_at.popitem(last=False)
        for index, state in enumerate(("sent", "delivered")):
            delay_s = self.status_delay_s * (index + 1)
            self.statuses.post(phone_number_id, message.wamid, message.to, state, delay_s=delay_s)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                parts = urllib.parse.urlsplit(self.path).path.strip("/").split("/")
                if len(parts) < 2 or parts[-1] != "messages" or not _DIGITS.fullmatch(parts[-2]):
                    self._reply(404, graph_error(INVALID_PARAMETER, "Unknown path"))
                    return
                raw = self._body()
                if raw is None or not self._authorized():
                    return
                try:
                    request = request_decoder.decode(raw)
                except msgspec.DecodeError as error:
                    self._reply(400, graph_error(INVALID_PARAMETER, f"Invalid parameter: {error}"))
                    return
                if request.is_read_receipt:
                    standin._read(request)
                    self._reply(200, {"success": True})
                    return
                if not request.type or not _DIGITS.fullmatch(request.to):
                    self._reply(400, graph_error(INVALID_PARAMETER, "Invalid parameter: to and type"))
                    return
                message = standin._take(parts[-2], request)
                if standin.send_delay_s and standin._stopping.wait(standin.send_delay_s):
                    return  # stopping: no answer
                answer = {
                    "messaging_product": "whatsapp",
                    "contacts": [{"input": request.to, "wa_id": request.to}],
                    "messages": [{"id": message.wamid}],
                }
                if self._reply(200, answer):
                    standin._answered(parts[-2], message)

            def do_GET(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                parts = url.path.strip("/").split("/")
                if parts[0] == "demo":
                    self._demo(parts[1:], urllib.parse.parse_qs(url.query))
                    return
                if not self._authorized():
                    return
                if parts[-1] == "me":
                    self._reply(200, {"id": "1", "name": "zapq demo"})
                elif _DIGITS.fullmatch(parts[-1]):
                    self._reply(
                        200,
                        {"id": parts[-1], "display_phone_number": DEMO_DISPLAY_PHONE_NUMBER,
                         "verified_name": "zapq demo"},
                    )  # fmt: skip
                else:
                    self._reply(404, graph_error(INVALID_PARAMETER, "Unknown path"))

            def _demo(self, parts: list[str], query: dict[str, list[str]]) -> None:
                """`/demo` (is this the stand-in?) and `/demo/conversations/{wa_id}?after=N&wait=S`."""
                if not parts or parts == [""]:
                    self._reply(200, {"demo": True})
                    return
                if len(parts) != 2 or parts[0] != "conversations" or not _DIGITS.fullmatch(parts[1]):
                    self._reply(404, {"error": "unknown path: /demo or /demo/conversations/{wa_id}"})
                    return
                try:
                    after = int(query.get("after", ["0"])[0])
                    wait_s = float(query.get("wait", ["0"])[0])
                except ValueError:
                    self._reply(400, {"error": "after must be an integer and wait a number of seconds"})
                    return
                if not 0 <= wait_s <= MAX_WAIT_S:
                    self._reply(400, {"error": f"wait must be 0 to {MAX_WAIT_S:.0f} seconds"})
                    return
                found = standin.wait_for_conversation(parts[1], after=after, wait_s=wait_s)
                self._reply(200, {"messages": msgspec.to_builtins(found)})

            def _authorized(self) -> bool:
                expected = f"Bearer {standin.access_token}"
                if not standin.access_token or self.headers.get("authorization") == expected:
                    return True
                self._reply(
                    401, graph_error(INVALID_TOKEN, "Invalid OAuth access token - Cannot parse access token")
                )
                return False

            def _body(self) -> bytes | None:
                try:
                    length = int(self.headers.get("content-length") or 0)
                except ValueError:
                    length = -1
                if not 0 <= length <= MAX_BODY_BYTES:
                    self._reply(413, graph_error(INVALID_PARAMETER, "Body too large or length invalid"))
                    return None
                return self.rfile.read(length) if length else b""

            def _reply(self, status: int, body: dict[str, Any]) -> bool:
                payload = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(payload)))
                    if status >= 400:
                        self.send_header("connection", "close")
                        self.close_connection = True
                    self.end_headers()
                    self.wfile.write(payload)
                    self.wfile.flush()
                except OSError:
                    return False  # the client gave up
                return True

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
