"""Every process's logging, configured in one place: `configure_logging(settings)`.

Each entry point calls it first: the web app (`create_app`, under uvicorn's CLI or `python -m
web`), a worker or the scheduler (`actors.boot`, after the dramatiq or periodiq CLI set up its
handler) and `make run` (`zapq.run`). It then:

- sets the root logger to `LOG_LEVEL`, with one handler to stderr if the process has none
  (uvicorn sets up only its own), and one line format on the plain stream handlers the
  dramatiq and periodiq CLIs made (whose handlers write to their pipes);
- routes uvicorn's lines through that handler; uvicorn's own access log stays off, since
  `web.access_log` writes one line per request instead;
- keeps httpx's and httpcore's line per request out unless `LOG_LEVEL=DEBUG`: a worker would
  otherwise write one for every message sent to the Graph API;
- puts a `RepeatLimit` on each handler, so a flood of one warning becomes a few lines and a count;
- then, on each handler, `LogContext` (the message, task and correlation ids a JSON line shows) and
  `RedactPhoneNumbers` (a phone number that slipped into a line becomes its customer tag);
- with `LOG_FORMAT=json`, writes JSON lines (`zapq.json_logs`) instead of the text format.

Idempotent: booting calls it again once the servers are resolved.
"""

from __future__ import annotations

import logging
import sys

from zapq.json_logs import JsonLines
from zapq.log_context import LogContext
from zapq.log_limits import limit_repeated_lines
from zapq.log_redaction import RedactPhoneNumbers
from zapq.settings import Settings

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
#: Libraries that log one INFO line per HTTP request they make.
PER_REQUEST_LOGGERS = ("httpx", "httpcore")
#: Loggers that come with handlers of their own, whose lines should reach the root's instead.
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.asgi")
UVICORN_ACCESS_LOGGER = "uvicorn.access"
#: Loggers the dramatiq and periodiq CLIs may give handlers; these are rate-limited too.
CLI_LOGGERS = ("dramatiq", "periodiq")


def configure_logging(settings: Settings) -> None:
    """Configure this process's logging from `settings` (see the module's docstring)."""
    level = settings.log_level.upper()
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler(sys.stderr))
    formatter = JsonLines() if settings.log_format.strip().lower() == "json" else logging.Formatter(FORMAT)
    for handler in root.handlers:
        # Exactly StreamHandler: the ones basicConfig and we make. A test runner's capturing
        # handlers are subclasses, with formats of their own.
        if type(handler) is logging.StreamHandler:
            handler.setFormatter(formatter)
    root.setLevel(level)

    for name in UVICORN_LOGGERS:
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
        uvicorn_logger.setLevel(logging.NOTSET)
    access = logging.getLogger(UVICORN_ACCESS_LOGGER)
    access.handlers.clear()
    access.propagate = False  # uvicorn writes access lines only when this logger has a handler

    quiet = logging.NOTSET if level == "DEBUG" else logging.WARNING
    for name in PER_REQUEST_LOGGERS:
        logging.getLogger(name).setLevel(quiet)

    for name in ("", *CLI_LOGGERS):
        for handler in logging.getLogger(name).handlers:
            limit_repeated_lines(
                handler, limit=settings.log_repeat_limit, window_s=settings.log_repeat_window_s
            )
            for kind in (LogContext, RedactPhoneNumbers):  # in this order, after RepeatLimit
                if not any(isinstance(f, kind) for f in handler.filters):
                    handler.addFilter(kind())
