"""`make run`: embedded servers, schema, then web + worker + scheduler; Ctrl-C stops everything.

`zapq.supervisor` restarts a child that exits, as systemd does in production. On Ctrl-C or
SIGTERM the processes that use Redis and PostgreSQL stop first, the servers this run started last,
and the run exits 0: a stop asked for is no error (so `make` adds no "Interrupt" line).

With neither `WHATSAPP_ACCESS_TOKEN` nor `WHATSAPP_API_URL` set, the run is a local demo
(`zapq.demo`): the workers reply to a Cloud API stand-in this process serves, which prints what
they send, and `make chat` plays a customer.

A setting that cannot work is refused before anything starts, in one line naming the variable
(exit code 2); what a failed start had already started is stopped again.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from zapq.demo.cloud_api import DEMO_ACCESS_TOKEN, CloudApiStandIn
from zapq.demo.running import LocalRun, forget_local_run, record_local_run
from zapq.demo.webhooks import DEMO_PHONE_NUMBER_ID
from zapq.dev_secrets import ensure_generic_webhook_secret, ensure_jwt_secret, ensure_webhook_secret
from zapq.embedded import ServiceUrls
from zapq.logging_setup import configure_logging
from zapq.queues import GENERAL_QUEUES, RESERVED_QUEUES
from zapq.runtime import boot, booted_services, stop_started_services
from zapq.settings import Settings, SettingsError, get_settings
from zapq.startup_checks import check_port_free, mask_password
from zapq.supervisor import Supervisor

#: How long Dramatiq's worker processes may take to finish the messages in hand when stopped
#: (under the supervisor's grace period): a reply mid-send is finished, not abandoned.
WORKER_SHUTDOWN_TIMEOUT_MS = 25_000
LOCAL_HOSTS = ("", "0.0.0.0", "::")  # bound to every address: reach them on loopback


def child_commands(python: str) -> dict[str, list[str]]:
    settings = get_settings()
    return {
        "web": [python, "-m", "uvicorn", "--factory", "web.app:create_app",
                "--host", settings.web_host, "--port", str(settings.web_port), "--no-access-log"],
        "worker": [python, "-m", "dramatiq", "actors:boot",
                   "--processes", str(settings.worker_processes), "--threads", str(settings.worker_threads),
                   "--worker-shutdown-timeout", str(WORKER_SHUTDOWN_TIMEOUT_MS), "--queues", *GENERAL_QUEUES],
        # Alone on the critical and high background-task queues: never busy with low work. Its metrics
        # go to the shared directory the worker's endpoint serves, so it needs no port of its own.
        "worker-priority": ["env", "METRICS_PORT=0", python, "-m", "dramatiq", "actors:boot",
                            "--processes", "1", "--threads", str(settings.background_priority_worker_threads),
                            "--worker-shutdown-timeout", str(WORKER_SHUTDOWN_TIMEOUT_MS),
                            "--queues", *RESERVED_QUEUES],
        "scheduler": [str(Path(python).parent / "periodiq"), "actors:boot"],
    }  # fmt: skip


def check_ports(settings: Settings) -> None:
    """The web's and the worker metrics' ports must be free, and not the same one."""
    if settings.web_port and settings.web_port == settings.metrics_port:
        raise SettingsError(
            f"invalid environment variable METRICS_PORT={settings.metrics_port}: the same port as WEB_PORT"
        )
    check_port_free("WEB_PORT", "WEB_HOST", settings.web_host, settings.web_port)
    check_port_free("METRICS_PORT", "METRICS_HOST", settings.metrics_host, settings.metrics_port)


def main() -> int:
    # Until the supervisor takes them over, SIGTERM interrupts a start as Ctrl-C does, so that what
    # it had started is stopped (below) rather than left behind by a killed process.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        settings = get_settings()
        check_ports(settings)
        configure_logging(settings)
    except SettingsError as error:  # one line naming the variable, before anything starts
        print(f"zapq: {error}", file=sys.stderr)
        return 2
    # An idle consumer polls Redis every 100 ms instead of backing off to 1 s, so a flushed
    # debounce batch starts promptly.
    os.environ.setdefault("dramatiq_worker_timeout", "100")
    demo: CloudApiStandIn | None = None
    try:
        settings = boot()
        dev_secret = ensure_webhook_secret()
        ensure_generic_webhook_secret()
        ensure_jwt_secret()
        settings = get_settings()
        if settings.demo_mode:
            demo = start_demo(settings)
            settings = get_settings()
        supervisor = Supervisor(child_commands(sys.executable))
        supervisor.stop_on_signals()  # from here on, Ctrl-C is a request the loop below honours
    except (SettingsError, KeyboardInterrupt) as error:
        if demo is not None:
            demo.stop()
        stop_started_services()
        if isinstance(error, KeyboardInterrupt):  # during start-up: stopped as asked
            print("zapq stopped.", flush=True)
            return 0
        print(f"zapq: {error}", file=sys.stderr)
        return 2
    urls = booted_services()
    try:
        supervisor.start()
        record_local_run(settings.data_dir, local_run(settings, demo))
        print_banner(settings, urls, dev_secret, demo)
        exit_code = supervisor.run()
    finally:
        supervisor.stop_children()  # already done by run(), unless a start or the banner failed
        if demo is not None:
            demo.stop()  # after the workers: a reply in flight still gets its answer
        forget_local_run(settings.data_dir, os.getpid())
        urls.stop_started()
    print("zapq stopped." if exit_code == 0 else "zapq stopped: a child kept crashing.", flush=True)
    return exit_code


def start_demo(settings: Settings) -> CloudApiStandIn:
    """Serve the Cloud API stand-in, seed the demo stock, and point this run's workers at the stand-in."""
    from zapq.conversation.seed import seed_inventory
    from zapq.db.connection import connect

    demo = CloudApiStandIn(
        settings.whatsapp_webhook_secret,
        webhook_url=f"{web_url(settings)}/webhook/whatsapp",
        show=lambda line: print(f"whatsapp stand-in: {line}", flush=True),
    ).start()
    with connect(settings.database_url) as connection:
        seed_inventory(connection)
    os.environ["WHATSAPP_API_URL"] = demo.url
    os.environ["WHATSAPP_ACCESS_TOKEN"] = DEMO_ACCESS_TOKEN
    get_settings.cache_clear()
    return demo


def local_run(settings: Settings, demo: CloudApiStandIn | None) -> LocalRun:
    """What `make chat` needs to find this run."""
    return LocalRun(
        web_url=web_url(settings),
        cloud_api_url=demo.url if demo is not None else "",
        phone_number_id=DEMO_PHONE_NUMBER_ID,
        pid=os.getpid(),
    )


def web_url(settings: Settings) -> str:
    host = "127.0.0.1" if settings.web_host in LOCAL_HOSTS else settings.web_host
    return f"http://{host}:{settings.web_port}"


def print_banner(
    settings: Settings, urls: ServiceUrls, dev_secret: Path | None, demo: CloudApiStandIn | None
) -> None:
    if demo is not None:
        heading = (
            "zapq is running as a local demo: WHATSAPP_ACCESS_TOKEN is unset, so the bot's replies go to a\n"
            f"WhatsApp stand-in on {demo.url} (printed below as 'whatsapp stand-in:'), not to WhatsApp.\n"
            "  talk to it  make chat   (in another terminal: you type as a customer, the bot answers)\n"
        )
    else:
        heading = f"zapq is running:\n  whatsapp   replies through {settings.graph_api_url}\n"
    print(
        f"{heading}"
        f"  web        {web_url(settings)}  (POST /webhook, GET /health, GET /metrics,"
        " /api/background, /docs)\n"
        f"  worker     {settings.worker_processes} processes x {settings.worker_threads} threads,"
        f" metrics on http://{settings.metrics_host}:{settings.metrics_port}/metrics\n"
        f"  worker     1 process x {settings.background_priority_worker_threads} threads,"
        " critical and high background tasks only\n"
        f"  scheduler  periodiq\n"
        f"  redis      {mask_password(urls.redis_url)}\n"
        f"  postgresql {mask_password(urls.database_url)}",
        flush=True,
    )
    if demo is not None:
        print(
            "To go live, set WHATSAPP_ACCESS_TOKEN and WHATSAPP_WEBHOOK_SECRET from your Meta app"
            " (WHATSAPP_API_URL defaults to Meta's Graph API): docs/operations.md#the-local-demo",
            flush=True,
        )
    if dev_secret:
        print(f"WHATSAPP_WEBHOOK_SECRET was unset: webhooks must be signed with the one in {dev_secret}")
    print("Ctrl-C stops everything.", flush=True)


if __name__ == "__main__":
    sys.exit(main())
