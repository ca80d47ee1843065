"""One log line per HTTP request: method, path, status, duration, client (`ACCESS_LOG`).

`GET /webhook/whatsapp?hub.mode&hub.verify_token&hub.challenge 200 1.2ms 127.0.0.1`

Query values are left out (Meta's verify token travels in one), and a customer's number in a
path (`/api/conversations/{wa_id}/release`) is replaced by its hash (`zapq.customer_ids`).
Health probes and scrapes (`/health`, `/health/ready`, `/metrics`), which come every few
seconds, are logged at DEBUG. Status 499 is a client that hung up before it was answered.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl

from starlette.types import Scope

from web.exchange import AnswerWatcher, Exchange
from zapq.customer_ids import customer_tag

logger = logging.getLogger(__name__)

PROBE_PATHS = frozenset({"/health", "/health/ready", "/metrics"})
MAX_PATH_CHARS = 200
MAX_QUERY_NAMES = 10


class AccessLog(AnswerWatcher):
    """Pure ASGI middleware; outermost, so it logs what every inner one answered."""

    def answered(self, scope: Scope, exchange: Exchange) -> None:
        status = exchange.status
        level = logging.DEBUG if scope["path"] in PROBE_PATHS else logging.INFO
        if logger.isEnabledFor(level):
            client = scope.get("client")
            logger.log(
                level, "%s %s %d %.1fms %s",
                scope["method"], loggable_path(scope), status, exchange.elapsed_s * 1000,
                client[0] if client else "-",
            )  # fmt: skip


def loggable_path(scope: Scope) -> str:
    """The path with a customer's number hashed and the query's names only, cut and escaped."""
    path: str = scope["path"]
    wa_id = scope.get("path_params", {}).get("wa_id")
    if isinstance(wa_id, str) and wa_id:
        path = path.replace(wa_id, customer_tag(wa_id))
    query = scope.get("query_string", b"").decode("latin-1")
    if query:
        names = list(dict.fromkeys(name for name, _ in parse_qsl(query, keep_blank_values=True)))
        path += "?" + "&".join(names[:MAX_QUERY_NAMES]) + ("&..." if len(names) > MAX_QUERY_NAMES else "")
    if len(path) > MAX_PATH_CHARS:
        path = path[:MAX_PATH_CHARS] + "..."
    # A path is the client's text: no control character or newline may forge a line of its own.
    return path.encode("unicode_escape").decode("ascii").replace(" ", "%20")
