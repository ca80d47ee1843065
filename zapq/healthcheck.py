"""`python -m zapq.healthcheck [web|worker|scheduler]`: the container image's HEALTHCHECK, one for every role.

One image runs every role (deploy/docker), and Docker allows it one HEALTHCHECK, so the check learns the
role from its argument or, without one, from the container's main process (PID 1, which the entrypoint
`exec`s): uvicorn is the web, dramatiq a worker, periodiq the scheduler.

- web: `/health/ready` answers 200, as the load balancer would ask it (Redis, PostgreSQL, the Cloud API).
- worker: its metrics endpoint answers (dramatiq's main process and its fork serving it are alive) and
  Redis answers PING (no worker gets messages without it). With `METRICS_PORT=0` only Redis is asked.
- scheduler: Redis answers PING; periodiq has nothing else to ask, and exits by itself when it fails.

Exit 0 when healthy, 1 with one line on stderr saying what failed, 2 when the role is unknown.
"""

from __future__ import annotations

import enum
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

import redis

from zapq.settings import Settings, SettingsError, get_settings
from zapq.startup_checks import few_words, mask_password

TIMEOUT_S = 3.0
MAIN_PROCESS_CMDLINE = Path("/proc/1/cmdline")
ENTRYPOINT_NAME = "zapq-entrypoint"


class Role(enum.StrEnum):
    WEB = "web"
    WORKER = "worker"
    SCHEDULER = "scheduler"


#: The program each role's entrypoint line `exec`s (deploy/docker/entrypoint.sh).
PROGRAM_ROLES = {"uvicorn": Role.WEB, "dramatiq": Role.WORKER, "periodiq": Role.SCHEDULER}
#: The entrypoint's own role names, seen on PID 1 when an init process (`init: true`) runs it.
ENTRYPOINT_ROLES = {
    "web": Role.WEB, "worker": Role.WORKER, "worker-priority": Role.WORKER, "worker-analytics": Role.WORKER,
    "scheduler": Role.SCHEDULER,
}  # fmt: skip


class Unhealthy(Exception):
    """What failed, in one line."""


def role_of(argv: Sequence[str]) -> Role | None:
    """The role a main process's command line runs, or None when it runs none of zapq's."""
    for position, argument in enumerate(argv):
        name = os.path.basename(argument)
        if name in PROGRAM_ROLES:
            return PROGRAM_ROLES[name]
        following = argv[position + 1] if position + 1 < len(argv) else ""
        if name == ENTRYPOINT_NAME and following in ENTRYPOINT_ROLES:
            return ENTRYPOINT_ROLES[following]
        if argument == "-m" and following == "web":
            return Role.WEB
    return None


def main_process_argv() -> list[str]:
    try:
        raw = MAIN_PROCESS_CMDLINE.read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def local_address(host: str) -> str:
    """Where a check on the same machine reaches a server bound to `host` (a wildcard: loopback)."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def check(role: Role, settings: Settings) -> None:
    """Return when `role` is healthy; raise `Unhealthy` naming what is not."""
    if role is Role.WEB:
        expect_http_ok(f"http://{local_address(settings.web_host)}:{settings.web_port}/health/ready")
        return
    if role is Role.WORKER and settings.metrics_port:
        expect_http_ok(f"http://{local_address(settings.metrics_host)}:{settings.metrics_port}/metrics")
    expect_redis_answers(settings.redis_url)


def expect_http_ok(url: str) -> None:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        raise Unhealthy(f"{url} answered {error.code}: {few_words_of_body(error)}") from error
    except (OSError, ValueError) as error:
        raise Unhealthy(f"{url} does not answer: {few_words(error)}") from error
    if status != 200:
        raise Unhealthy(f"{url} answered {status}")


def few_words_of_body(error: urllib.error.HTTPError) -> str:
    body = error.read(300).decode(errors="replace").strip()
    return body.splitlines()[0] if body else error.reason or "no body"


def expect_redis_answers(url: str) -> None:
    if not url:
        raise Unhealthy("REDIS_URL is unset: the container has no Redis to use")
    try:
        client = redis.Redis.from_url(url, socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S)
        try:
            client.ping()
        finally:
            client.close()
    except (redis.RedisError, OSError, ValueError) as error:
        raise Unhealthy(f"REDIS_URL={mask_password(url)} does not answer: {few_words(error)}") from error


def main(argv: list[str]) -> int:
    roles = ", ".join(Role)
    if len(argv) > 2 or (len(argv) == 2 and argv[1] not in set(Role)):
        print(f"usage: python -m zapq.healthcheck [{'|'.join(Role)}]", file=sys.stderr)
        return 2
    role = Role(argv[1]) if len(argv) == 2 else role_of(main_process_argv())
    if role is None:
        print(f"zapq healthcheck: PID 1 runs none of {roles}: name the role", file=sys.stderr)
        return 2
    try:
        check(role, get_settings())
    except (Unhealthy, SettingsError) as error:
        print(f"zapq {role} unhealthy: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
