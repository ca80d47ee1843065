"""`LOG_FORMAT=json`: one JSON object a line, for a log pipeline.

`{"ts": "2026-12-01T12:00:00.123Z", "level": "INFO", "logger": "zapq.whatsapp.sender",
"message": "sent text wamid.x customer=c:3f9a2b1c (reply:...)", "message_id": "...",
"correlation_id": "..."}`; `task_id`, `correlation_ids` (a burst merging several webhooks) and
`exception` (a traceback) only when there is one. The fields come from `zapq.log_context`.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from zapq.log_context import FIELDS


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")[:-6] + "Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in FIELDS:
            value = getattr(record, field, None)
            if value:
                entry[field] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)
