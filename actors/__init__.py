"""Dramatiq entry module: `dramatiq actors` runs a worker, `periodiq actors` the scheduler.

Importing it boots the process (settings, embedded servers, migrations), builds the
broker with the full middleware stack, and only then declares the actors, because
Dramatiq rejects actor options no installed middleware knows.
"""

import faulthandler
import sys

import dramatiq

from actors.broker import build_broker
from zapq.runtime import boot
from zapq.settings import SettingsError

# A crash in a C extension then leaves every thread's Python stack in the log, not just "-11".
faulthandler.enable()

try:
    settings = boot()
except SettingsError as error:
    sys.exit(f"zapq: {error}")

broker = build_broker(settings)
dramatiq.set_broker(broker)

from actors import analytics, conversation, handoff, webhook_events  # noqa: E402
from schedules import metrics  # noqa: E402

__all__ = ["analytics", "broker", "conversation", "handoff", "metrics", "webhook_events"]
