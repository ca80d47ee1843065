"""`make run`: embedded servers, schema, then web + worker + scheduler; Ctrl-C stops everything.

Each child runs in its own session so the shutdown order is ours: the processes
that use Redis and PostgreSQL stop first, the servers this run started last.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from zapq.runtime import boot, booted_services
from zapq.settings import SettingsError, get_settings

logger = logging.getLogger("zapq.run")

GRACE_PERIOD_S = 8.0


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]


def child_commands(python: str) -> dict[str, list[str]]:
    settings = get_settings()
    return {
        "web": [python, "-m", "uvicorn", "--factory", "web.app:create_app",
                "--host", settings.web_host, "--port", str(settings.web_port), "--no-access-log"],
        "worker": [python, "-m", "dramatiq", "actors",
                   "--processes", str(settings.worker_processes), "--threads", str(settings.worker_threads)],
        "scheduler": [str(Path(python).parent / "periodiq"), "actors"],
    }  # fmt: skip


def main() -> int:
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"), format="%(asctime)s %(name)s %(message)s")
    # An idle consumer polls Redis every 100 ms instead of backing off to 1 s, so a flushed
    # debounce batch starts promptly.
    os.environ.setdefault("dramatiq_worker_timeout", "100")
    try:
        dev_secret = ensure_webhook_secret()
        settings = boot()
    except SettingsError as error:
        print(f"zapq: {error}", file=sys.stderr)
        return 2
    urls = booted_services()
    children = [
        Child(name, subprocess.Popen(command, start_new_session=True))
        for name, command in child_commands(sys.executable).items()
    ]
    print(
        f"zapq is running:\n"
        f"  web        http://{settings.web_host}:{settings.web_port}"
        "  (POST /webhook, GET /health, GET /metrics)\n"
        f"  worker     {settings.worker_processes} processes x {settings.worker_threads} threads,"
        f" metrics on http://{settings.metrics_host}:{settings.metrics_port}/metrics\n"
        f"  scheduler  periodiq\n"
        f"  redis      {urls.redis_url}\n"
        f"  postgresql {urls.database_url}\n"
        f"Ctrl-C stops everything.",
        flush=True,
    )
    if dev_secret:
        print(f"WHATSAPP_WEBHOOK_SECRET was unset: webhooks must be signed with the one in {dev_secret}")
    stop_requested = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stop_requested
        stop_requested = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    exit_code = 0
    while not stop_requested:
        for child in children:
            if child.process.poll() is not None:
                logger.error("%s exited with %s; stopping the rest", child.name, child.process.returncode)
                stop_requested, exit_code = True, 1
        time.sleep(0.2)
    stop_children(children)
    urls.stop_started()
    print("zapq stopped.", flush=True)
    return exit_code


def ensure_webhook_secret() -> Path | None:
    """A local run without the app secret gets a random one under the data dir, not unsigned webhooks.

    The web app refuses to start without a secret (or WHATSAPP_SKIP_SIGNATURE=1), and `make run`
    must work on a fresh machine. Returns the file when it made this choice, None otherwise.
    """
    settings = get_settings()
    if settings.whatsapp_webhook_secret or settings.whatsapp_skip_signature:
        return None
    path = settings.data_dir / "dev-webhook-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    os.environ["WHATSAPP_WEBHOOK_SECRET"] = path.read_text().strip()
    get_settings.cache_clear()
    return path


def stop_children(children: list[Child]) -> None:
    for child in children:
        _signal_group(child.process, signal.SIGTERM)
    deadline = time.monotonic() + GRACE_PERIOD_S
    for child in children:
        try:
            child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            logger.warning("%s did not stop in time; killing it", child.name)
        # Kill the whole group either way: dramatiq's forks and uvicorn's reloaders live there.
        _signal_group(child.process, signal.SIGKILL)
        child.process.wait()


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


if __name__ == "__main__":
    sys.exit(main())
