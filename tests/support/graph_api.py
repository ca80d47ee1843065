"""A Cloud API stand-in: a real HTTP server on 127.0.0.1 that answers like Meta's /messages endpoint."""

from __future__ import annotations

import itertools
import threading
from typing import Any

from tests.support.http_peer import CannedResponse, HttpPeer, RecordedRequest

CUSTOMER = "5511987654321"


def accepted(wamid: str, recipient: str = CUSTOMER, delay_s: float = 0.0) -> CannedResponse:
    """Graph's answer to a send it took, after `delay_s`."""
    body = {
        "messaging_product": "whatsapp",
        "contacts": [{"input": recipient, "wa_id": recipient}],
        "messages": [{"id": wamid}],
    }
    return CannedResponse(body=body, delay_s=delay_s)


def graph_error_body(code: int, title: str = "Some title", details: str = "Some details") -> dict[str, Any]:
    """An error body in Graph's shape."""
    return {
        "error": {
            "message": f"(#{code}) {title}",
            "type": "OAuthException",
            "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": details},
            "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam",
        }
    }


def graph_error(code: int, title: str = "Some title", *, http_status: int = 400) -> CannedResponse:
    """An error answer, e.g. `graph_error(130429, http_status=429)`."""
    return CannedResponse(status=http_status, body=graph_error_body(code, title))


class GraphApi:
    """Sends get a fresh wamid; read receipts get `success`; GETs describe the number, as readiness asks.

    `fail_sends` scripts the next send answers. Only message sends (requests with a `type`) take
    scripted failures, so a test can fail the reply without failing the mark-as-read before it.
    """

    def __init__(self, peer: HttpPeer) -> None:
        self.peer = peer
        self.scripted: list[CannedResponse] = []
        self.send_delay_s = 0.0
        self.receipt_delay_s = 0.0
        self.assigned: list[str] = []  # wamids given to accepted sends, even if the answer was lost
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        peer.responder = self._answer

    @property
    def url(self) -> str:
        return self.peer.url

    def fail_sends(self, *responses: CannedResponse) -> None:
        with self._lock:
            self.scripted.extend(responses)

    def sends(self) -> list[dict[str, Any]]:
        """Every message send received (including failed ones), oldest first."""
        return [request.json() for request in self.peer.received("/messages") if "type" in request.json()]

    def replies_to(self, wa_id: str) -> list[dict[str, Any]]:
        return [send for send in self.sends() if send["to"] == wa_id]

    def read_receipts(self) -> list[dict[str, Any]]:
        return [request.json() for request in self.peer.received("/messages") if "status" in request.json()]

    def probes(self) -> list[RecordedRequest]:
        """GETs on the number or `/me`, as readiness asks."""
        return [request for request in self.peer.received() if request.method == "GET"]

    def _answer(self, request: RecordedRequest) -> CannedResponse:
        if request.method == "GET":  # readiness: the business number, as Graph describes it
            number = request.path.rstrip("/").rsplit("/", 1)[-1]
            return CannedResponse(body={"id": number, "display_phone_number": "15550783881"})
        payload = request.json()
        if "type" not in payload:
            return CannedResponse(body={"success": True}, delay_s=self.receipt_delay_s)
        with self._lock:
            if self.scripted:
                return self.scripted.pop(0)
        wamid = f"wamid.out.{next(self._ids)}"
        self.assigned.append(wamid)
        return accepted(wamid, payload["to"], self.send_delay_s)
