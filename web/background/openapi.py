"""`GET /openapi.json` (OpenAPI 3.1) and `GET /docs`, both from this process, with no CDN.

The schemas are msgspec's JSON Schema of the very Structs the endpoints decode and encode
(web/background/schemas.py); only the list of operations below is written by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from web.background import schemas as s
from web.background.routes import PREFIX
from zapq.background.records import Task, TaskLogLine
from zapq.background.schedules import Schedule
from zapq.background.status import TaskStatus
from zapq.background.store import QueueStats

REF = "#/components/schemas/{name}"
TASK_ID = {"name": "task_id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Retrying with the same key and body returns the first task; another body gets 422.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x20-\\x7e]+$"},
}


def _query(
    name: str, schema: dict[str, Any], description: str = "", required: bool = False
) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": schema, "description": description}


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    responses: dict[int, type | None]
    request: type | None = None
    parameters: list[dict[str, Any]] = field(default_factory=list)
    admin: bool = False
    public: bool = False
    stream: bool = False


_SUBMIT: dict[int, type | None] = {202: s.Submitted}
OPERATIONS = [
    Operation("post", "/tasks", "Submit a task of any type", _SUBMIT, s.SubmitTask, [IDEMPOTENCY_KEY]),
    Operation(
        "get",
        "/tasks",
        "Your organisation's tasks, newest first",
        {200: s.TaskList},
        parameters=[
            _query("status", {"enum": list(TaskStatus)}),
            _query("task_type", {"type": "string", "maxLength": 64}),
            _query("created_after", {"type": "string", "format": "date-time"}),
            _query("created_before", {"type": "string", "format": "date-time"}),
            _query("limit", {"type": "integer", "minimum": 1, "maximum": 200}),
            _query("cursor", {"type": "string"}, "next_cursor of the previous page"),
        ],
    ),
    Operation(
        "post",
        "/tasks/document-processing",
        "Chunk, embed and store a document",
        _SUBMIT,
        s.DocumentProcessing,
        [IDEMPOTENCY_KEY],
    ),
    Operation(
        "post", "/tasks/webhook-delivery", "Deliver a webhook", _SUBMIT, s.WebhookDelivery, [IDEMPOTENCY_KEY]
    ),
    Operation("post", "/tasks/n8n-sync", "Send data to n8n", _SUBMIT, s.N8nSync, [IDEMPOTENCY_KEY]),
    Operation(
        "get",
        "/tasks/{task_id}",
        "A task: status, progress, attempts, result or error",
        {200: Task},
        parameters=[TASK_ID],
    ),
    Operation(
        "get",
        "/tasks/{task_id}/logs",
        "A task's log lines",
        {200: s.LogPage},
        parameters=[
            TASK_ID,
            _query("after_id", {"type": "integer", "minimum": 0}),
            _query("limit", {"type": "integer", "minimum": 1, "maximum": 1000}),
        ],
    ),
    Operation(
        "get",
        "/tasks/{task_id}/stream",
        "A task's events (Server-Sent Events)",
        {200: None},
        parameters=[
            TASK_ID,
            {
                "name": "Last-Event-ID",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "pattern": "^[0-9]{1,18}$"},
            },
        ],
        stream=True,
    ),
    Operation(
        "post", "/tasks/{task_id}/cancel", "Cancel a task", {200: Task, 202: Task}, parameters=[TASK_ID]
    ),
    Operation(
        "get",
        "/queue/stats",
        "Queue depth, running, failures, throughput, durations",
        {200: QueueStats},
        admin=True,
    ),
    Operation(
        "post",
        "/queue/cleanup",
        "Delete finished tasks older than max_age_days",
        {200: s.Cleaned},
        parameters=[_query("max_age_days", {"type": "number", "minimum": 0, "maximum": 3650}, required=True)],
        admin=True,
    ),
    Operation(
        "get", "/health", "The API, its database and its broker", {200: s.Health, 503: s.Health}, public=True
    ),
    Operation(
        "post", "/integrations/n8n/trigger", "Start an n8n workflow", _SUBMIT, s.N8nTrigger, [IDEMPOTENCY_KEY]
    ),
    Operation(
        "post",
        "/integrations/knowledge/process-bulk",
        "Process many documents under one parent task",
        {202: s.BulkSubmitted},
        s.ProcessBulk,
        [IDEMPOTENCY_KEY],
    ),
    Operation(
        "post",
        "/integrations/analytics/schedule-daily",
        "Run analytics_processing every day",
        {201: Schedule},
        s.ScheduleDaily,
    ),
]

_TYPES: list[Any] = [
    s.SubmitTask,
    s.DocumentProcessing,
    s.WebhookDelivery,
    s.N8nSync,
    s.N8nTrigger,
    s.ProcessBulk,
    s.ScheduleDaily,
    s.Submitted,
    s.BulkSubmitted,
    s.TaskList,
    s.LogPage,
    s.Cleaned,
    s.Health,
    s.ErrorBody,
    Task,
    TaskLogLine,
    Schedule,
    QueueStats,
]


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _ref(kind: type) -> dict[str, Any]:
    return {"$ref": REF.format(name=kind.__name__)}


def _operation(operation: Operation) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status, body in operation.responses.items():
        if operation.stream:
            responses[str(status)] = {
                "description": "event stream",
                "content": {"text/event-stream": {"schema": {"type": "string"}}},
            }
        else:
            responses[str(status)] = (
                {"description": "OK", **_json(_ref(body))} if body else {"description": "OK"}
            )
    error = {"description": "the error, naming the field at fault", **_json(_ref(s.ErrorBody))}
    responses.setdefault("4XX", error)
    responses.setdefault("503", error)
    spec: dict[str, Any] = {
        "operationId": operation.method + operation.path.replace("/", "_").replace("{", "").replace("}", ""),
        "summary": operation.summary + (" (role admin)" if operation.admin else ""),
        "parameters": operation.parameters,
        "responses": responses,
    }
    if operation.request is not None:
        spec["requestBody"] = {"required": True, **_json(_ref(operation.request))}
    if operation.public:
        spec["security"] = []
    return spec


@cache
def openapi_document() -> bytes:
    _, components = msgspec.json.schema_components(_TYPES, ref_template=REF)
    paths: dict[str, dict[str, Any]] = {}
    for operation in OPERATIONS:
        paths.setdefault(PREFIX + operation.path, {})[operation.method] = _operation(operation)
    document = {
        "openapi": "3.1.0",
        "info": {
            "title": "zapq background tasks",
            "version": "1",
            "description": "Submit background tasks, follow them (SSE), cancel them. Bearer JWT with"
            " `org` and `sub` claims; `role: admin` for the queue. See docs/http-api.md.",
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
        "security": [{"bearer": []}],
    }
    return msgspec.json.encode(document)


async def openapi_json(request: Request) -> Response:
    return Response(openapi_document(), media_type="application/json")


async def docs_page(request: Request) -> Response:
    return HTMLResponse(_docs_html())


@cache
def _docs_html() -> str:
    return resources.files("web.background").joinpath("docs.html").read_text()
