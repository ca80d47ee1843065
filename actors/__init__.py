"""zapq's actors, declared on `broker`. Importing this package connects to nothing and starts nothing.

A worker is `dramatiq actors:boot`, the scheduler `periodiq actors:boot`: Dramatiq (and periodiq,
which shares its loader) imports this package, then calls `boot`, which readies the process
(logging, settings, embedded servers, schema, metrics directory) and points the broker at
the Redis it resolved. Declaring the actors needs the broker first, because Dramatiq rejects
actor options that no installed middleware knows.
"""

import faulthandler
import sys

import dramatiq

from actors.broker import bind_broker, build_broker
from zapq.settings import SettingsError, declaring_settings

broker = build_broker(declaring_settings())
dramatiq.set_broker(broker)

from actors import (  # noqa: E402
    analytics,
    background,
    conversation,
    embeddings,
    handoff,
    metrics_snapshots,
    reengagement,
    webhook_events,
)


def boot() -> None:
    """Ready a worker or scheduler process; its entry point, named on the command line."""
    from zapq.logging_setup import configure_logging
    from zapq.runtime import boot as boot_process
    from zapq.runtime import stop_started_services
    from zapq.settings import get_settings
    from zapq.worker_metrics import prepare_metrics_dir

    # A crash in a C extension then leaves every thread's Python stack in the log, not just "-11".
    faulthandler.enable()
    try:
        configure_logging(get_settings())  # before booting, which logs the servers it starts
        settings = boot_process()
    except SettingsError as error:
        stop_started_services()
        sys.exit(f"zapq: {error}")
    prepare_metrics_dir(settings)
    bind_broker(broker, settings.redis_url)


__all__ = [
    "analytics",
    "background",
    "boot",
    "broker",
    "conversation",
    "embeddings",
    "handoff",
    "metrics_snapshots",
    "reengagement",
    "webhook_events",
]
