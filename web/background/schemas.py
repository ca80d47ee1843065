"""The background-task API's request and response bodies: they validate requests and make /openapi.json.

Every request body is decoded into one of these Structs at the edge; every answer is one of
them encoded. The OpenAPI document is generated from the same classes (web/background/openapi.py),
so the schema and the checks cannot drift apart.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from zapq.background.records import Task, TaskLogLine
from zapq.background.schedules import Schedule
from zapq.background.store import QueueStats

Priority = Annotated[
    Literal["critical", "high", "normal", "low"],
    Meta(description="critical work runs on reserved workers, never behind a backlog of low work"),
]
TaskTypeName = Annotated[
    str, Meta(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$", description="a registered task type")
]
JsonObject = dict[str, Any]
MAX_DOCUMENT_CHARS = 1_000_000
MAX_BULK_DOCUMENTS = 500


class SubmitTask(msgspec.Struct, forbid_unknown_fields=True):
    """A task of any registered type, with its payload as that type expects it."""

    task_type: TaskTypeName
    payload: JsonObject = {}
    name: Annotated[str, Meta(max_length=200)] | None = None
    priority: Priority = "normal"


class DocumentProcessing(msgspec.Struct, forbid_unknown_fields=True):
    """Chunk a document, embed the chunks and store them (task type `document_processing`)."""

    document_id: Annotated[str, Meta(min_length=1, max_length=200)]
    content: Annotated[str, Meta(min_length=1, max_length=MAX_DOCUMENT_CHARS)]
    chunk_size: Annotated[int, Meta(ge=50, le=20_000, description="characters per chunk")] = 1000
    priority: Priority = "normal"


class WebhookDelivery(msgspec.Struct, forbid_unknown_fields=True):
    """POST `data` to `webhook_url` (task type `webhook_delivery`), signed when `sign_payload`."""

    webhook_url: Annotated[str, Meta(min_length=8, max_length=2048, pattern=r"^[Hh][Tt][Tt][Pp][Ss]?://")]
    data: JsonObject = {}
    headers: dict[
        Annotated[str, Meta(min_length=1, max_length=128)], Annotated[str, Meta(max_length=4096)]
    ] = {}
    sign_payload: bool = False
    priority: Priority = "normal"


class N8nSync(msgspec.Struct, forbid_unknown_fields=True):
    """Send `data` to n8n under `sync_type` (task type `external_sync`)."""

    sync_type: Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
    data: JsonObject = {}
    priority: Priority = "normal"


class N8nTrigger(msgspec.Struct, forbid_unknown_fields=True):
    """Start the n8n workflow `workflow` with `data` (an `external_sync` task)."""

    workflow: Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
    data: JsonObject = {}
    priority: Priority = "high"


class BulkDocument(msgspec.Struct, forbid_unknown_fields=True):
    document_id: Annotated[str, Meta(min_length=1, max_length=200)]
    content: Annotated[str, Meta(min_length=1, max_length=MAX_DOCUMENT_CHARS)]


class ProcessBulk(msgspec.Struct, forbid_unknown_fields=True):
    """Many documents: one `bulk` parent whose progress is its children's (one `document_processing` each)."""

    documents: Annotated[list[BulkDocument], Meta(min_length=1, max_length=MAX_BULK_DOCUMENTS)]
    chunk_size: Annotated[int, Meta(ge=50, le=20_000)] = 1000
    priority: Priority = "low"


class ScheduleDaily(msgspec.Struct, forbid_unknown_fields=True):
    """An `analytics_processing` task every day at `run_at` (UTC) for the caller's organisation."""

    name: Annotated[str, Meta(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")] = "daily-analytics"
    run_at: Annotated[str, Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="HH:MM, UTC")] = (
        "03:00"
    )
    payload: JsonObject = {}
    priority: Priority = "low"


class Submitted(msgspec.Struct):
    task_id: str
    status: str
    location: str


class BulkSubmitted(msgspec.Struct):
    task_id: str
    status: str
    location: str
    children: list[str]


class TaskList(msgspec.Struct):
    tasks: list[Task]
    #: Pass as `cursor` for the next page; null on the last.
    next_cursor: str | None


class LogPage(msgspec.Struct):
    logs: list[TaskLogLine]
    #: Pass as `after_id` for the next lines.
    last_id: int


class Cleaned(msgspec.Struct):
    deleted: int


class Health(msgspec.Struct):
    status: Literal["ok", "degraded"]
    database: bool
    broker: bool
    open_streams: int


class ErrorBody(msgspec.Struct, omit_defaults=True):
    error: str
    detail: str
    #: The request field (body, query or header) that is wrong, when one is.
    field: str | None = None


RESPONSE_TYPES = (Task, TaskLogLine, Schedule, QueueStats)
