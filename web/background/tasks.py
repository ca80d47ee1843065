"""Submit, read, list and cancel tasks: `/api/background/tasks...`.

Every query names the caller's organisation, so another organisation's task is simply not
found (404, never 403). A submission stores the task, then queues its message; if Redis does
not take it, the task is withdrawn and the answer is 503, so a retry creates it again.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from web.background.auth import Principal
from web.background.http import (
    Refusal,
    caller,
    decode_body,
    endpoint,
    is_uuid,
    json_response,
    not_found,
    query_int,
    service,
    task_id_param,
)
from web.background.schemas import (
    DocumentProcessing,
    LogPage,
    N8nSync,
    SubmitTask,
    Submitted,
    TaskList,
    WebhookDelivery,
)
from zapq.background import store
from zapq.background.handlers import TaskPriority
from zapq.background.messages import run_message
from zapq.background.records import NewTask, Task
from zapq.background.status import TaskStatus
from zapq.background.submission import InvalidSubmission, new_task, new_task_id, request_fingerprint

PREFIX = "/api/background"
IDEMPOTENCY_HEADER = "idempotency-key"
MAX_IDEMPOTENCY_KEY = 255
DEFAULT_PAGE = 50
MAX_PAGE = 200
MAX_LOG_PAGE = 1000


def task_location(task_id: str) -> str:
    return f"{PREFIX}/tasks/{task_id}"


def idempotency_key(request: Request) -> str | None:
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return None
    if not 0 < len(key) <= MAX_IDEMPOTENCY_KEY or not key.isascii() or not key.isprintable():
        raise Refusal(
            422,
            "invalid_header",
            f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} printable ASCII characters",
            field="Idempotency-Key",
        )
    return key


def prepared(
    request: Request,
    principal: Principal,
    body: object,
    task_type: str,
    payload: dict[str, Any],
    *,
    name: str | None,
    priority: TaskPriority,
    parent_id: str | None = None,
) -> NewTask:
    key = idempotency_key(request)
    try:
        return new_task(
            task_type,
            payload,
            organization_id=principal.organization_id,
            user_id=principal.user_id,
            name=name,
            priority=priority,
            idempotency_key=key,
            parent_id=parent_id,
            request_fingerprint=request_fingerprint(request.url.path, body) if key else None,
        )
    except InvalidSubmission as error:
        raise Refusal(422, "invalid_field", error.detail, field=error.field) from None


async def submit(request: Request, new: NewTask) -> Response:
    background = service(request)
    try:
        task, created = await background.run(store.insert_task, new_task_id(), new)
    except store.IdempotencyConflict as error:
        raise Refusal(422, "idempotency_key_reused", str(error), field="Idempotency-Key") from None
    if created:
        try:
            await background.enqueuer.enqueue(run_message(task.id, task.priority))
        except Exception:
            await background.run(store.delete_task, task.id)
            raise
    location = task_location(task.id)
    headers = {"Location": location} | ({} if created else {"Idempotent-Replayed": "true"})
    return json_response(Submitted(task.id, task.status, location), 202, headers)


@endpoint
async def submit_task(request: Request) -> Response:
    principal = caller(request)
    body = await decode_body(request, SubmitTask)
    new = prepared(
        request, principal, body, body.task_type, body.payload, name=body.name, priority=body.priority
    )
    return await submit(request, new)


@endpoint
async def submit_document_processing(request: Request) -> Response:
    principal = caller(request)
    body = await decode_body(request, DocumentProcessing)
    payload = {"document_id": body.document_id, "content": body.content, "chunk_size": body.chunk_size}
    new = prepared(
        request,
        principal,
        body,
        "document_processing",
        payload,
        name=f"document {body.document_id}",
        priority=body.priority,
    )
    return await submit(request, new)


@endpoint
async def submit_webhook_delivery(request: Request) -> Response:
    principal = caller(request)
    body = await decode_body(request, WebhookDelivery)
    payload = {
        "webhook_url": body.webhook_url,
        "data": body.data,
        "headers": body.headers,
        "sign_payload": body.sign_payload,
    }
    new = prepared(
        request, principal, body, "webhook_delivery", payload, name="webhook delivery", priority=body.priority
    )
    return await submit(request, new)


@endpoint
async def submit_n8n_sync(request: Request) -> Response:
    principal = caller(request)
    body = await decode_body(request, N8nSync)
    payload = {"sync_type": body.sync_type, "data": body.data}
    new = prepared(
        request,
        principal,
        body,
        "external_sync",
        payload,
        name=f"n8n sync {body.sync_type}",
        priority=body.priority,
    )
    return await submit(request, new)


async def own_task(request: Request, principal: Principal) -> Task:
    task_id = task_id_param(request)
    task: Task | None = await service(request).run(store.get_task, task_id, principal.organization_id)
    if task is None:
        raise not_found(task_id)
    return task


@endpoint
async def get_task(request: Request) -> Response:
    return json_response(await own_task(request, caller(request)))


@endpoint
async def get_task_logs(request: Request) -> Response:
    task = await own_task(request, caller(request))
    after_id = query_int(request, "after_id", 0, 0, 2**62)
    limit = query_int(request, "limit", 200, 1, MAX_LOG_PAGE)
    logs = await service(request).run(store.list_logs, task.id, after_id=after_id, limit=limit)
    return json_response(LogPage(logs, logs[-1].id if logs else after_id))


@endpoint
async def cancel_task(request: Request) -> Response:
    """202 while a running task is asked to stop; 200 once cancelled (again: idempotent); 409 if it ended."""
    principal = caller(request)
    task_id = task_id_param(request)
    task: Task | None = await service(request).run(store.request_cancel, task_id, principal.organization_id)
    if task is None:
        raise not_found(task_id)
    if task.status in (TaskStatus.COMPLETED, TaskStatus.FAILED):
        raise Refusal(409, "task_finished", f"the task already ended {task.status}; nothing to cancel")
    return json_response(task, 200 if task.status == TaskStatus.CANCELLED else 202)


@endpoint
async def list_tasks(request: Request) -> Response:
    principal = caller(request)
    params = request.query_params
    status = params.get("status") or None
    if status is not None and status not in TaskStatus.__members__.values():
        raise Refusal(
            422, "invalid_parameter", f"status must be one of {', '.join(TaskStatus)}", field="status"
        )
    task_type = params.get("task_type") or None
    if task_type is not None and not (len(task_type) <= 64 and task_type.isascii()):
        raise Refusal(422, "invalid_parameter", "task_type must be a task type's name", field="task_type")
    limit = query_int(request, "limit", DEFAULT_PAGE, 1, MAX_PAGE)
    tasks: list[Task] = await service(request).run(
        store.list_tasks,
        principal.organization_id,
        status=status,
        task_type=task_type,
        created_after=_time_param(request, "created_after"),
        created_before=_time_param(request, "created_before"),
        after=_cursor(params.get("cursor")),
        limit=limit + 1,
    )
    page, more = tasks[:limit], len(tasks) > limit
    next_cursor = _encode_cursor(page[-1]) if more else None
    return json_response(TaskList(page, next_cursor))


def _time_param(request: Request, name: str) -> datetime | None:
    text = request.query_params.get(name)
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise Refusal(
            422,
            "invalid_parameter",
            f"{name} must be an ISO 8601 time with its offset (2026-12-01T00:00:00Z)",
            field=name,
        )
    return moment


def _encode_cursor(task: Task) -> str:
    return base64.urlsafe_b64encode(f"{task.created_at.isoformat()}|{task.id}".encode()).decode()


def _cursor(text: str | None) -> tuple[datetime, str] | None:
    if not text:
        return None
    try:
        created_at, _, task_id = base64.urlsafe_b64decode(text.encode()).decode().partition("|")
        moment = datetime.fromisoformat(created_at)
        if moment.tzinfo is None or not is_uuid(task_id):
            raise ValueError(text)
        return moment, task_id
    except (ValueError, binascii.Error, UnicodeError):
        raise Refusal(422, "invalid_parameter", "cursor is not one this API gave", field="cursor") from None
