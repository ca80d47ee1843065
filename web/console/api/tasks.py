"""Background tasks: list and filter, one task with its log, cancel, retry (`/api/console/tasks...`).

`GET  /api/console/tasks?status=&type=&organization=&q=&limit=`   newest first
`GET  /api/console/tasks/{id}?after_log_id=`                       the task and its log lines after that one
`POST /api/console/tasks/{id}/cancel`                              {"confirm": true}
`POST /api/console/tasks/{id}/retry`                               {"confirm": true}: a new task, same input

The admin sees every organisation's tasks; an agent (a JWT of the sales team) sees and acts on
its own organisation's only, as that same JWT may through `/api/background`. Another
organisation's task is not found (404), as there. The queries are zapq/background/store.py's.
"""

from __future__ import annotations

from typing import Any

import psycopg
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from web.background.service import BackgroundService
from web.console.actions import record_action
from web.console.auth import Caller, Role, caller_or_refusal
from web.console.params import BadRequest, confirmed_body, int_parameter, task_id, text_parameter
from web.enqueue import BrokerUnavailable
from web.responses import error_response, json_response
from web.unavailable import BROKER, DATABASE, unavailable
from zapq.background import store
from zapq.background.catalog import BULK_TASK_TYPE
from zapq.background.messages import run_message
from zapq.background.records import Task
from zapq.background.status import TaskStatus
from zapq.background.submission import new_task_id, resubmission

DEFAULT_PAGE = 50
MAX_PAGE = 200
MAX_LOG_LINES = 500
MAX_SEARCH = 64
MAX_NAME = 64


def _service(request: Request) -> BackgroundService:
    background: BackgroundService = request.app.state.background
    return background


def _scope(caller: Caller) -> str | None:
    """The organisation whose tasks the caller sees: None (all) for the admin."""
    return None if caller.role is Role.ADMIN else caller.organization_id


def _not_found(task_id: str) -> Response:
    return error_response(404, "task_not_found", f"no task {task_id}")


async def _confirmed_task(request: Request) -> tuple[Caller, Task] | Response:
    """The caller and the task a confirmed action names, or the refusal: not signed in, a bad id,
    no confirmation, not the caller's task, PostgreSQL down."""
    caller = await caller_or_refusal(request, Role.AGENT)
    if isinstance(caller, Response):
        return caller
    try:
        tid = task_id(request.path_params["id"])
        await confirmed_body(request)
    except BadRequest as error:
        return error.response()
    try:
        task: Task | None = await _service(request).run(store.get_task, tid, _scope(caller))
    except psycopg.OperationalError as error:
        return unavailable(DATABASE, error)
    return _not_found(tid) if task is None else (caller, task)


async def list_tasks(request: Request) -> Response:
    caller = await caller_or_refusal(request, Role.AGENT)
    if isinstance(caller, Response):
        return caller
    try:
        status = request.query_params.get("status") or None
        if status is not None and status not in set(TaskStatus):
            raise BadRequest(f"status must be one of {', '.join(TaskStatus)}")
        task_type = text_parameter(request, "type", MAX_NAME)
        organization = text_parameter(request, "organization", MAX_NAME)
        text = text_parameter(request, "q", MAX_SEARCH)
        limit = int_parameter(request, "limit", DEFAULT_PAGE, 1, MAX_PAGE)
    except BadRequest as error:
        return error.response()
    scope = _scope(caller)
    if scope is not None and organization not in (None, scope):
        return error_response(403, "forbidden", "an agent sees the tasks of its own organisation only")
    try:
        tasks: list[Task] = await _service(request).run(
            store.list_tasks, scope or organization, status=status, task_type=task_type,
            created_after=None, created_before=None, after=None, limit=limit, text=text,
        )  # fmt: skip
    except psycopg.OperationalError as error:
        return unavailable(DATABASE, error)
    return json_response({"tasks": tasks, "organization": scope})


def _task_and_logs(
    connection: psycopg.Connection, task_id: str, organization_id: str | None, after_log_id: int
) -> dict[str, Any] | None:
    task = store.get_task(connection, task_id, organization_id)
    if task is None:
        return None
    logs = store.list_logs(connection, task_id, after_id=after_log_id, limit=MAX_LOG_LINES)
    return {"task": task, "logs": logs, "last_log_id": logs[-1].id if logs else after_log_id}


async def get_task(request: Request) -> Response:
    caller = await caller_or_refusal(request, Role.AGENT)
    if isinstance(caller, Response):
        return caller
    try:
        tid = task_id(request.path_params["id"])
        after_log_id = int_parameter(request, "after_log_id", 0, 0, 2**62)
    except BadRequest as error:
        return error.response()
    try:
        found = await _service(request).run(_task_and_logs, tid, _scope(caller), after_log_id)
    except psycopg.OperationalError as error:
        return unavailable(DATABASE, error)
    return _not_found(tid) if found is None else json_response(found)


async def cancel_task(request: Request) -> Response:
    """202 while a running task is asked to stop, 200 once cancelled; 409 for a task that already ended."""
    confirmed = await _confirmed_task(request)
    if isinstance(confirmed, Response):
        return confirmed
    caller, task = confirmed
    if task.status in (TaskStatus.COMPLETED, TaskStatus.FAILED):
        detail = f"the task already ended {task.status}; nothing to cancel"
        return error_response(409, "task_finished", detail)
    try:
        cancelled = await _service(request).run(store.request_cancel, task.id, task.organization_id)
    except psycopg.OperationalError as error:
        return unavailable(DATABASE, error)
    if cancelled is None:
        return _not_found(task.id)
    await record_action(request, caller, "task.cancel", task.id, {"status": str(cancelled.status)})
    return json_response({"task": cancelled}, 200 if cancelled.status == TaskStatus.CANCELLED else 202)


async def retry_task(request: Request) -> Response:
    """A failed or cancelled task runs again as a new task with the same input; 201 with the new task."""
    confirmed = await _confirmed_task(request)
    if isinstance(confirmed, Response):
        return confirmed
    caller, old = confirmed
    tid, service = old.id, _service(request)
    try:
        if old.status not in (TaskStatus.FAILED, TaskStatus.CANCELLED):
            detail = f"only a failed or cancelled task can be retried; this one is {old.status}"
            return error_response(409, "task_not_retryable", detail)
        if old.task_type == BULK_TASK_TYPE:
            detail = "a bulk task runs no code itself: retry its children"
            return error_response(409, "task_not_retryable", detail)
        new, _ = await service.run(store.insert_task, new_task_id(), resubmission(old))
    except psycopg.OperationalError as error:
        return unavailable(DATABASE, error)
    try:
        await service.enqueuer.enqueue(run_message(new.id, new.priority))
    except (BrokerUnavailable, OSError) as error:
        await service.run(store.delete_task, new.id)
        return unavailable(BROKER, error)
    await record_action(request, caller, "task.retry", tid, {"new_task_id": new.id})
    return json_response({"task": new, "retry_of": tid}, 201)


ROUTES = [
    Route("/api/console/tasks", list_tasks, methods=["GET"]),
    Route("/api/console/tasks/{id}", get_task, methods=["GET"]),
    Route("/api/console/tasks/{id}/cancel", cancel_task, methods=["POST"]),
    Route("/api/console/tasks/{id}/retry", retry_task, methods=["POST"]),
]
