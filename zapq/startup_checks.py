"""What a process checks at start, so that a setting that cannot work is one line naming it, not a traceback.

Server URLs that do not parse or do not answer, and ports another program holds, are reported as
`SettingsError`s saying what was tried (the URL with its password masked) and what went wrong,
in a few words. Entry points print the line, stop what they started, and exit non-zero.
"""

from __future__ import annotations

import errno
import re
import socket
import urllib.parse

import psycopg
import redis
from psycopg.conninfo import conninfo_to_dict
from redis.connection import parse_url

from zapq.settings import Settings, SettingsError

CONNECT_TIMEOUT_S = 5.0
MAX_REASON_CHARS = 160

_PASSWORD_PARAMETER = re.compile(r"(password\s*=\s*)('[^']*'|[^&\s]+)", re.IGNORECASE)
_REDIS_CONNECT_ERROR = re.compile(r"^Error -?\d+ connecting to \S+?\.\s*(.+)$")


class ServiceUnreachable(SettingsError):
    """A server named by `variable` did not answer at start."""

    def __init__(self, variable: str, url: str, error: BaseException) -> None:
        self.variable = variable
        super().__init__(f"{variable}={mask_password(url)} does not answer: {few_words(error)}")


def mask_password(url: str) -> str:
    """`url` with any password replaced by `***`, in a URL's user info or a `password=` parameter."""
    masked = _PASSWORD_PARAMETER.sub(r"\1***", url)
    try:
        parts = urllib.parse.urlsplit(masked)
    except ValueError:
        return masked
    userinfo, at, hostinfo = parts.netloc.rpartition("@")
    user, colon, password = userinfo.partition(":")
    if not at or not colon or not password:
        return masked
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}:***@{hostinfo}"))


def few_words(error: BaseException) -> str:
    """The gist of a connection error: "Connection refused", not three lines of libpq."""
    text = str(error).strip().splitlines()[0].strip() if str(error).strip() else type(error).__name__
    redis_error = _REDIS_CONNECT_ERROR.match(text)
    if redis_error:
        text = redis_error.group(1)
    elif ": " in text:
        text = text.rsplit(": ", 1)[1]
    text = text.strip().rstrip(".")
    return text if len(text) <= MAX_REASON_CHARS else text[: MAX_REASON_CHARS - 3] + "..."


def check_url_forms(settings: Settings) -> None:
    """REDIS_URL and DATABASE_URL, when set, must at least parse: refused before anything starts."""
    if settings.redis_url:
        try:
            parse_url(settings.redis_url)
        except ValueError as error:
            raise SettingsError(
                f"invalid environment variable REDIS_URL={mask_password(settings.redis_url)!r}: {error}"
            ) from None
    if settings.database_url:
        try:
            conninfo_to_dict(settings.database_url)
        except psycopg.Error as error:
            raise SettingsError(
                f"invalid environment variable DATABASE_URL={mask_password(settings.database_url)!r}:"
                f" {few_words(error)}"
            ) from None


def check_redis_answers(url: str) -> None:
    client = redis.Redis.from_url(
        url, socket_connect_timeout=CONNECT_TIMEOUT_S, socket_timeout=CONNECT_TIMEOUT_S
    )
    try:
        client.ping()
    except redis.RedisError as error:
        raise ServiceUnreachable("REDIS_URL", url, error) from None
    finally:
        client.close()


def check_postgres_answers(url: str) -> None:
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=int(CONNECT_TIMEOUT_S)) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as error:
        raise ServiceUnreachable("DATABASE_URL", url, error) from None


def check_port_free(port_variable: str, host_variable: str, host: str, port: int) -> None:
    """Refuse a port another process listens on (0 picks a free one, so it is always fine)."""
    if port == 0:
        return
    try:
        family, kind, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as error:
        raise SettingsError(
            f"invalid environment variable {host_variable}={host!r}: {few_words(error)}"
        ) from None
    with socket.socket(family, kind) as probe:
        # As uvicorn and http.server bind: a port whose last connections linger in TIME_WAIT is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRNOTAVAIL:
                raise SettingsError(
                    f"invalid environment variable {host_variable}={host!r}: not an address of this machine"
                ) from None
            reason = {
                errno.EADDRINUSE: "is in use by another process",
                errno.EACCES: "needs privileges this process lacks",
            }.get(error.errno or 0, few_words(error))
            raise SettingsError(
                f"invalid environment variable {port_variable}={port}: {host}:{port} {reason}"
            ) from None
