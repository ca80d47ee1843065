"""`make run`: embedded servers, schema, then web + worker + scheduler; Ctrl-C stops everything.

`zapq.supervisor` restarts a child that exits, as systemd does in production. On Ctrl-C or
SIGTERM the processes that use Redis and PostgreSQL stop first, the servers this run started last.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from zapq.dev_secrets import ensure_generic_webhook_secret, ensure_webhook_secret
from zapq.embedded import ServiceUrls
from zapq.logging_setup import configure_logging
from zapq.runtime import boot, booted_services
from zapq.settings import Settings, SettingsError, get_settings
from zapq.supervisor import Supervisor

#: How long Dramatiq's worker processes may take to finish the messages in hand when stopped
#: (under the supervisor's grace period): a reply mid-send is finished, not abandoned.
WORKER_SHUTDOWN_TIMEOUT_MS = 25_000


def child_commands(python: str) -> dict[str, list[str]]:
    settings = get_settings()
    return {
        "web": [python, "-m", "uvicorn", "--factory", "web.app:create_app",
                "--host", settings.web_host, "--port", str(settings.web_port), "--no-access-log"],
        "worker": [python, "-m", "dramatiq", "actors:boot",
                   "--processes", str(settings.worker_processes), "--threads", str(settings.worker_threads),
                   "--worker-shutdown-timeout", str(WORKER_SHUTDOWN_TIMEOUT_MS)],
        "scheduler": [str(Path(python).parent / "periodiq"), "actors:boot"],
    }  # fmt: skip


def main() -> int:
    try:
        configure_logging(get_settings())
    except SettingsError as error:  # one line naming the variable, before anything starts
        print(f"zapq: {error}", file=sys.stderr)
        return 2
    # An idle consumer polls Redis every 100 ms instead of backing off to 1 s, so a flushed
    # debounce batch starts promptly.
    os.environ.setdefault("dramatiq_worker_timeout", "100")
    try:
        dev_secret = ensure_webhook_secret()
        ensure_generic_webhook_secret()
        settings = boot()
    except SettingsError as error:
        print(f"zapq: {error}", file=sys.stderr)
        return 2
    urls = booted_services()
    supervisor = Supervisor(child_commands(sys.executable))
    supervisor.stop_on_signals()
    try:
        supervisor.start()
        print_banner(settings, urls, dev_secret)
        exit_code = supervisor.run()
    finally:
        supervisor.stop_children()  # already done by run(), unless a start or the banner failed
        urls.stop_started()
    print("zapq stopped." if exit_code == 0 else "zapq stopped: a child kept crashing.", flush=True)
    return exit_code


def print_banner(settings: Settings, urls: ServiceUrls, dev_secret: Path | None) -> None:
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


if __name__ == "__main__":
    sys.exit(main())
