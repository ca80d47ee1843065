"""Submitting background tasks from Python: for zapq's own modules, workers and scripts.

    task_id = submit_document_processing("doc_123", "Conteúdo...", organization_id="org_456",
                                         user_id="user_789")

    @background_task("report_export", priority="high")
    def export_report(context: TaskContext, payload: Mapping[str, Any]) -> dict[str, Any]: ...

    task_id = export_report({"month": "2026-11"}, organization_id="org_456", user_id="user_789")

Each call stores the task in PostgreSQL and queues its message on the broker of this process
(`dramatiq.get_broker()`, which `actors:boot` or the web app bound to Redis). A process that
runs the decorated function's task type must import the module that declares it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dramatiq
import psycopg

from zapq.background import store
from zapq.background.handlers import Handler, RetryPolicy, TaskContext, TaskPriority, register
from zapq.background.messages import run_message
from zapq.background.submission import new_task, new_task_id
from zapq.db.connection import thread_connection


def submit_task(
    task_type: str,
    payload: Mapping[str, Any],
    *,
    organization_id: str,
    user_id: str,
    name: str | None = None,
    priority: TaskPriority = "normal",
    idempotency_key: str | None = None,
    connection: psycopg.Connection | None = None,
) -> str:
    """Store and queue a task; its id. With an `idempotency_key` already used: the first task's id."""
    new = new_task(
        task_type,
        dict(payload),
        organization_id=organization_id,
        user_id=user_id,
        name=name,
        priority=priority,
        idempotency_key=idempotency_key,
    )
    connection = connection or thread_connection()
    task, created = store.insert_task(connection, new_task_id(), new)
    if created:
        try:
            dramatiq.get_broker().enqueue(run_message(task.id, task.priority))
        except Exception:
            store.delete_task(connection, task.id)
            raise
    return task.id


def submit_document_processing(
    document_id: str,
    content: str,
    *,
    organization_id: str,
    user_id: str,
    chunk_size: int = 1000,
    priority: TaskPriority = "normal",
    **options: Any,
) -> str:
    payload = {"document_id": document_id, "content": content, "chunk_size": chunk_size}
    return submit_task(
        "document_processing",
        payload,
        organization_id=organization_id,
        user_id=user_id,
        priority=priority,
        name=f"document {document_id}",
        **options,
    )


def submit_webhook_delivery(
    webhook_url: str,
    data: Mapping[str, Any],
    *,
    organization_id: str,
    user_id: str,
    headers: Mapping[str, str] | None = None,
    sign_payload: bool = False,
    priority: TaskPriority = "normal",
    **options: Any,
) -> str:
    payload = {
        "webhook_url": webhook_url,
        "data": dict(data),
        "headers": dict(headers or {}),
        "sign_payload": sign_payload,
    }
    return submit_task(
        "webhook_delivery",
        payload,
        organization_id=organization_id,
        user_id=user_id,
        priority=priority,
        **options,
    )


def submit_external_sync(
    sync_type: str,
    data: Mapping[str, Any],
    *,
    organization_id: str,
    user_id: str,
    priority: TaskPriority = "normal",
    **options: Any,
) -> str:
    payload = {"sync_type": sync_type, "data": dict(data)}
    return submit_task(
        "external_sync",
        payload,
        organization_id=organization_id,
        user_id=user_id,
        priority=priority,
        name=f"n8n sync {sync_type}",
        **options,
    )


def submit_analytics_processing(
    payload: Mapping[str, Any],
    *,
    organization_id: str,
    user_id: str,
    priority: TaskPriority = "low",
    **options: Any,
) -> str:
    return submit_task(
        "analytics_processing",
        payload,
        organization_id=organization_id,
        user_id=user_id,
        priority=priority,
        **options,
    )


def submit_email_notification(
    payload: Mapping[str, Any],
    *,
    organization_id: str,
    user_id: str,
    priority: TaskPriority = "normal",
    **options: Any,
) -> str:
    return submit_task(
        "email_notification",
        payload,
        organization_id=organization_id,
        user_id=user_id,
        priority=priority,
        **options,
    )


class BackgroundTask:
    """A function registered as a task type's handler; calling it submits a task of that type."""

    def __init__(self, task_type: str, handler: Handler, priority: TaskPriority) -> None:
        self.task_type = task_type
        self.handler = handler
        self.priority = priority

    def __call__(
        self, payload: Mapping[str, Any], *, organization_id: str, user_id: str, **options: Any
    ) -> str:
        options.setdefault("priority", self.priority)
        return submit_task(
            self.task_type, payload, organization_id=organization_id, user_id=user_id, **options
        )

    def run(self, context: TaskContext, payload: Mapping[str, Any]) -> dict[str, Any]:
        """The handler itself, as a worker calls it."""
        return self.handler(context, payload)


def background_task(
    task_type: str, *, priority: TaskPriority = "normal", retry: RetryPolicy | None = None
) -> Any:
    """Decorator: `handler(context, payload)` becomes task type `task_type`; calling it submits one."""

    def decorate(handler: Handler) -> BackgroundTask:
        register(task_type, retry=retry, default_priority=priority)(handler)
        return BackgroundTask(task_type, handler, priority)

    return decorate
