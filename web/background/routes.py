"""Every route of the background-task API, by its full path, and the paths whose bodies are submissions.

Full paths rather than a Mount: request metrics label a request by its route's template, which is
then the path a reader knows (`/api/background/tasks/{task_id}`), as for every other route.
"""

from __future__ import annotations

from starlette.routing import Route

from web.background import integrations, queue, sse, tasks

PREFIX = tasks.PREFIX

_ROUTES = [
    Route("/tasks", tasks.submit_task, methods=["POST"]),
    Route("/tasks", tasks.list_tasks, methods=["GET"]),
    Route("/tasks/document-processing", tasks.submit_document_processing, methods=["POST"]),
    Route("/tasks/webhook-delivery", tasks.submit_webhook_delivery, methods=["POST"]),
    Route("/tasks/n8n-sync", tasks.submit_n8n_sync, methods=["POST"]),
    Route("/tasks/{task_id}", tasks.get_task, methods=["GET"]),
    Route("/tasks/{task_id}/logs", tasks.get_task_logs, methods=["GET"]),
    Route("/tasks/{task_id}/stream", sse.stream_task, methods=["GET"]),
    Route("/tasks/{task_id}/cancel", tasks.cancel_task, methods=["POST"]),
    Route("/queue/stats", queue.queue_stats, methods=["GET"]),
    Route("/queue/cleanup", queue.queue_cleanup, methods=["POST"]),
    Route("/health", queue.health, methods=["GET"]),
    Route("/integrations/n8n/trigger", integrations.trigger_n8n, methods=["POST"]),
    Route("/integrations/knowledge/process-bulk", integrations.process_bulk, methods=["POST"]),
    Route("/integrations/analytics/schedule-daily", integrations.schedule_daily_analytics, methods=["POST"]),
]

ROUTES = [
    Route(PREFIX + route.path, route.endpoint, methods=sorted(route.methods or ())) for route in _ROUTES
]

#: The paths whose bodies are submissions, which may carry documents: `BACKGROUND_MAX_BODY_BYTES`.
SUBMISSION_PATHS = tuple(
    route.path
    for route in ROUTES
    if "POST" in (route.methods or ()) and "{" not in route.path and "/queue/" not in route.path
)
