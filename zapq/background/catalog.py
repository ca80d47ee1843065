"""The task types the service accepts, by name, known without importing their code.

The web validates `task_type` against this and never imports the handlers (they are worker
code: HTTP clients, SMTP, DuckDB). A worker imports them with `load_task_types`.
"""

from __future__ import annotations

import importlib

from zapq.background.handlers import TASK_TYPES

#: The five types of issue #13, whose handlers live in `zapq.background.types`.
BUILTIN_TASK_TYPES = frozenset(
    {"document_processing", "webhook_delivery", "analytics_processing", "email_notification", "external_sync"}
)
TYPES_PACKAGE = "zapq.background.types"


def known_task_type(name: str) -> bool:
    """True for a built-in type and for any type registered in this process (a test's, a plug-in's)."""
    return name in BUILTIN_TASK_TYPES or name in TASK_TYPES


def known_task_types() -> list[str]:
    return sorted(BUILTIN_TASK_TYPES | TASK_TYPES.keys())


def load_task_types() -> None:
    """Import the built-in handlers (a worker's start); registering them fills `TASK_TYPES`."""
    try:
        importlib.import_module(TYPES_PACKAGE)
    except ModuleNotFoundError as error:
        if error.name != TYPES_PACKAGE:
            raise


#: The type of a bulk submission's parent task: it runs no code, its children do.
BULK_TASK_TYPE = "bulk"
