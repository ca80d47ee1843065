"""`/api/background/integrations/...`: n8n workflows, bulk documents, daily analytics.

A bulk submission is one `bulk` parent (running from the start, it runs no code) and one
`document_processing` child per document; the parent's progress is the mean of its children's
and it ends when they have (zapq/background/store.py `refresh_parent`). A daily schedule is a row
the scheduler's minute tick turns into one task per day (zapq/background/schedules.py).
"""

from __future__ import annotations

from datetime import time

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from web.background.http import Refusal, caller, decode_body, endpoint, service
from web.background.schemas import BulkSubmitted, N8nTrigger, ProcessBulk, ScheduleDaily
from web.background.tasks import prepared, submit, task_location
from web.responses import json_response
from zapq.background import store
from zapq.background.catalog import BULK_TASK_TYPE
from zapq.background.messages import run_message
from zapq.background.schedules import upsert_schedule
from zapq.background.status import TaskStatus
from zapq.background.submission import new_task_id


@endpoint
async def trigger_n8n(request: Request) -> Response:
    principal = caller(request)
    body = await decode_body(request, N8nTrigger)
    payload = {"sync_type": body.workflow, "data": body.data}
    new = prepared(
        request,
        principal,
        body,
        "external_sync",
        payload,
        name=f"n8n workflow {body.workflow}",
        priority=body.priority,
    )
    return await submit(request, new)


@endpoint
async def process_bulk(request: Request) -> Response:
    principal = caller(request)
    body = await decode_body(request, ProcessBulk)
    ids = [document.document_id for document in body.documents]
    if len(set(ids)) != len(ids):
        raise Refusal(422, "invalid_field", "each document_id may appear once", field="documents")
    parent = msgspec.structs.replace(
        prepared(
            request,
            principal,
            body,
            "document_processing",
            {"documents": len(ids)},
            name=f"bulk of {len(ids)} documents",
            priority=body.priority,
        ),
        task_type=BULK_TASK_TYPE,
        status=TaskStatus.RUNNING,
    )
    parent_id = new_task_id()
    children = [
        (
            new_task_id(),
            msgspec.structs.replace(
                prepared(
                    request,
                    principal,
                    body,
                    "document_processing",
                    {
                        "document_id": document.document_id,
                        "content": document.content,
                        "chunk_size": body.chunk_size,
                    },
                    name=f"document {document.document_id}",
                    priority=body.priority,
                    parent_id=parent_id,
                ),
                idempotency_key=None,
                request_fingerprint=None,
            ),
        )
        for document in body.documents
    ]
    background = service(request)
    try:
        task, created, child_ids = await background.run(store.insert_bulk, parent_id, parent, children)
    except store.IdempotencyConflict as error:
        raise Refusal(422, "idempotency_key_reused", str(error), field="Idempotency-Key") from None
    if created:
        try:
            await background.enqueuer.enqueue_many(
                [run_message(child_id, body.priority) for child_id in child_ids]
            )
        except Exception:
            await background.run(store.withdraw_bulk, task.id)
            raise
    location = task_location(task.id)
    headers = {"Location": location} | ({} if created else {"Idempotent-Replayed": "true"})
    return json_response(BulkSubmitted(task.id, task.status, location, child_ids), 202, headers)


@endpoint
async def schedule_daily_analytics(request: Request) -> Response:
    principal = caller(request)
    body = await decode_body(request, ScheduleDaily)
    hours, minutes = (int(part) for part in body.run_at.split(":"))
    schedule = await service(request).run(
        upsert_schedule,
        organization_id=principal.organization_id,
        user_id=principal.user_id,
        name=body.name,
        task_type="analytics_processing",
        priority=body.priority,
        payload=body.payload,
        run_at=time(hours, minutes),
    )
    return json_response(schedule, 201)
