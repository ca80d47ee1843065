"""The five task types: importing this package registers each in `zapq.background.handlers.TASK_TYPES`.

One module per type, each with its payload Struct (the API validates submissions with it) and its
handler. What they share: `payloads.py` (decoding), `retries.py` (policies), `destinations.py`
(the SSRF guard) and `http_delivery.py` (a signed POST, classified for retries).
"""

from zapq.background.types import (
    analytics_processing,
    document_processing,
    email_notification,
    external_sync,
    webhook_delivery,
)
from zapq.background.types.analytics_processing import AnalyticsProcessingPayload
from zapq.background.types.document_processing import DocumentProcessingPayload
from zapq.background.types.email_notification import EmailNotificationPayload
from zapq.background.types.external_sync import ExternalSyncPayload
from zapq.background.types.webhook_delivery import WebhookDeliveryPayload

#: Each type's payload Struct, by task type name.
PAYLOAD_TYPES = {
    analytics_processing.TASK_TYPE: AnalyticsProcessingPayload,
    document_processing.TASK_TYPE: DocumentProcessingPayload,
    email_notification.TASK_TYPE: EmailNotificationPayload,
    external_sync.TASK_TYPE: ExternalSyncPayload,
    webhook_delivery.TASK_TYPE: WebhookDeliveryPayload,
}

__all__ = [
    "PAYLOAD_TYPES",
    "AnalyticsProcessingPayload",
    "DocumentProcessingPayload",
    "EmailNotificationPayload",
    "ExternalSyncPayload",
    "WebhookDeliveryPayload",
]
