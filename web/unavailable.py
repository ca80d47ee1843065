"""503 answers that name the dependency that failed, never its address; the details go to the log.

The log is throttled per dependency: during an outage every request fails the same way, and one
line every `LOG_INTERVAL_S` (saying how many were left out) tells as much as thousands.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from starlette.responses import JSONResponse

from web.responses import error_response

logger = logging.getLogger(__name__)

LOG_INTERVAL_S = 10.0


@dataclass(frozen=True)
class Dependency:
    error: str
    detail: str


BROKER = Dependency("broker_unavailable", "the queue is unavailable, retry later")
DATABASE = Dependency("database_unavailable", "the database is unavailable, retry later")

_last_logged: dict[Dependency, float] = {}
_left_out: dict[Dependency, int] = {}


def unavailable(dependency: Dependency, cause: BaseException) -> JSONResponse:
    """The 503 for `dependency`; `cause` is logged (throttled), not shown to the client."""
    now = time.monotonic()
    if now - _last_logged.get(dependency, -LOG_INTERVAL_S) >= LOG_INTERVAL_S:
        left_out = _left_out.pop(dependency, 0)
        more = f" ({left_out} more since the last line)" if left_out else ""
        logger.warning("answered 503 %s: %s: %s%s", dependency.error, type(cause).__name__, cause, more)
        _last_logged[dependency] = now
    else:
        _left_out[dependency] = _left_out.get(dependency, 0) + 1
    return error_response(503, dependency.error, dependency.detail)
