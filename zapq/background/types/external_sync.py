"""`external_sync`: hand data to an n8n workflow, at `N8N_WEBHOOK_URL` plus the sync type.

`sync_type` picks the workflow (the last path segment of its webhook, `crm-leads`); the POST is
signed and retried like `webhook_delivery`'s (`http_delivery.py`) and n8n's answer is the result.
`N8N_WEBHOOK_URL` is the operator's, so it is not subject to the SSRF guard; `sync_type` is the
submitter's, so it is one plain path segment.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import httpx
import msgspec
from msgspec import Meta

from zapq.background.handlers import PermanentTaskError, TaskContext, register
from zapq.background.types.destinations import Destination
from zapq.background.types.http_delivery import post_json, signature_headers
from zapq.background.types.payloads import decode_payload
from zapq.background.types.retries import retry_policy
from zapq.settings import get_settings

TASK_TYPE = "external_sync"


class ExternalSyncPayload(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    sync_type: Annotated[
        str,
        Meta(
            pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$",
            description="The n8n workflow: a path segment appended to N8N_WEBHOOK_URL.",
        ),
    ]
    data: Annotated[dict[str, Any], Meta(description="What the workflow receives, under `data`.")]


def sync_url(base_url: str, sync_type: str) -> str:
    return f"{base_url.rstrip('/')}/{sync_type}"


@register(TASK_TYPE, retry=retry_policy(TASK_TYPE))
def sync_external(context: TaskContext, payload: Mapping[str, Any]) -> dict[str, Any]:
    """POST `{sync_type, organization_id, task_id, data}` to the n8n workflow; record its answer."""
    request = decode_payload(payload, ExternalSyncPayload)
    settings = get_settings()
    if not settings.n8n_webhook_url:
        raise PermanentTaskError("external_sync needs N8N_WEBHOOK_URL, which is unset")
    url = sync_url(settings.n8n_webhook_url, request.sync_type)
    body = msgspec.json.encode(
        {
            "sync_type": request.sync_type,
            "organization_id": context.organization_id,
            "task_id": context.task_id,
            "data": request.data,
        }
    )
    headers: dict[str, str] = {}
    if settings.task_webhook_signing_secret:
        headers.update(signature_headers(settings.task_webhook_signing_secret, body))
    else:
        context.log("TASK_WEBHOOK_SIGNING_SECRET is unset: the POST goes unsigned", "warning")
    destination = Destination(url=httpx.URL(url), address="")
    delivery = post_json(
        context, destination, body, headers, timeout_s=settings.webhook_timeout_s, pinned=False
    )
    # Not the URL: N8N_WEBHOOK_URL names an internal host the submitter need not learn.
    return {"sync_type": request.sync_type, **delivery.as_result()}
