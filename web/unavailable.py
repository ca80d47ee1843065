"""503 answers that name the dependency that failed, never its address; the details go to the log.

During an outage every request fails the same way: the handlers' `RepeatLimit`
(`zapq/log_limits.py`, installed by `create_app`) keeps those lines to a few and a count.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from starlette.responses import JSONResponse

from web.responses import error_response

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Dependency:
    error: str
    detail: str


BROKER = Dependency("broker_unavailable", "the queue is unavailable, retry later")
DATABASE = Dependency("database_unavailable", "the database is unavailable, retry later")
EMBEDDINGS = Dependency("embeddings_unavailable", "the embeddings provider is unavailable, retry later")


def unavailable(dependency: Dependency, cause: BaseException) -> JSONResponse:
    """The 503 for `dependency`; `cause` is logged, not shown to the client."""
    logger.warning("answered 503 %s: %s: %s", dependency.error, type(cause).__name__, cause)
    return error_response(503, dependency.error, dependency.detail)
