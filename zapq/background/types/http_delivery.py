"""One JSON POST to another system, signed, timed, logged and classified for the retry policy.

Shared by `webhook_delivery` (any URL, behind the SSRF guard) and `external_sync` (n8n). The
answer decides what happens next:

- 2xx: delivered; the answer (JSON, or text) goes into the task's result.
- timeout, connection failure, 5xx, 408, 429: worth another attempt, after `Retry-After` when the
  answer names one (`RetryAfter`), else after the task type's backoff (`DeliveryFailed`).
- any other 4xx, and 3xx (a redirect is never followed: it could lead anywhere): `PermanentTaskError`.

Signature (`sign_payload`, `TASK_WEBHOOK_SIGNING_SECRET`): `X-Zapq-Timestamp: <unix seconds>` and
`X-Zapq-Signature-256: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>`; the receiver
recomputes it and refuses an old timestamp (docs/background-tasks.md has the recipe).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec

from zapq.background.handlers import PermanentTaskError, RetryAfter, TaskContext
from zapq.background.types.destinations import Destination

SIGNATURE_HEADER = "X-Zapq-Signature-256"
TIMESTAMP_HEADER = "X-Zapq-Timestamp"
TASK_ID_HEADER = "X-Zapq-Task-Id"
#: Headers a task's own `headers` may not set: zapq's, and those that frame the request.
RESERVED_HEADERS = frozenset(
    {"host", "content-length", "content-type", "transfer-encoding", "connection", "te", "upgrade",
     "keep-alive", "proxy-authorization", "expect"}
)  # fmt: skip
RESERVED_PREFIX = "x-zapq-"
#: How much of an answer is read and kept in the result.
MAX_ANSWER_BYTES = 65_536
#: A `Retry-After` longer than a day is taken as a day: the retry policy's cap still applies on top.
MAX_RETRY_AFTER_S = 86_400.0
RETRYABLE_STATUSES = frozenset({408, 429})


class DeliveryFailed(Exception):
    """The destination did not take the POST this time (timeout, 5xx, 408, 429); worth retrying."""


@dataclass(frozen=True)
class Delivery:
    status: int
    duration_ms: float
    answer: Any
    answer_truncated: bool

    def as_result(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "duration_ms": self.duration_ms,
            "answer": self.answer,
            "answer_truncated": self.answer_truncated,
        }


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The `X-Zapq-Signature-256` value of `body` sent at `timestamp` (unix seconds, as text)."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signature_headers(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    timestamp = str(int(time.time() if now is None else now))
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: signature(secret, timestamp, body)}


def reserved_header(name: str) -> bool:
    lowered = name.lower()
    return lowered in RESERVED_HEADERS or lowered.startswith(RESERVED_PREFIX)


def post_json(
    context: TaskContext,
    destination: Destination,
    body: bytes,
    headers: Mapping[str, str],
    *,
    timeout_s: float,
    pinned: bool,
) -> Delivery:
    """POST `body` to `destination` once; log the attempt; return the 2xx answer or raise (module doc).

    `pinned`: connect to the checked address rather than resolving the host again.
    """
    request_headers = {
        **headers,
        "content-type": "application/json",
        "user-agent": "zapq-background-tasks",
        TASK_ID_HEADER: context.task_id,
    }
    url = destination.url
    extensions: dict[str, Any] = {}
    if pinned:
        url = destination.pinned_url
        request_headers["host"] = destination.host_header
        if destination.url.scheme == "https":  # TLS still names, and checks the certificate of, the host
            extensions["sni_hostname"] = destination.url.host
    started = time.monotonic()
    where = f"attempt {context.attempt}: POST {destination.origin}"
    try:
        with (
            httpx.Client(timeout=timeout_s, follow_redirects=False, trust_env=False) as client,
            client.stream(
                "POST", url, content=body, headers=request_headers, extensions=extensions
            ) as answer,
        ):
            raw, truncated = _read_capped(answer, deadline=started + 3 * timeout_s)
    except httpx.TimeoutException as error:
        context.log(f"{where} -> timeout after {_ms_since(started)} ms", "warning")
        raise DeliveryFailed(f"{destination.origin} timed out ({type(error).__name__})") from None
    except httpx.HTTPError as error:
        context.log(f"{where} -> {type(error).__name__} after {_ms_since(started)} ms", "warning")
        raise DeliveryFailed(f"{destination.origin}: {type(error).__name__}: {error}") from None
    duration_ms = _ms_since(started)
    status = answer.status_code
    context.log(f"{where} -> {status} in {duration_ms} ms", "info" if answer.is_success else "warning")
    if answer.is_success:
        return Delivery(status, duration_ms, _decode_answer(answer, raw), truncated)
    problem = f"{destination.origin} answered {status}"
    if status >= 500 or status in RETRYABLE_STATUSES:
        wait_s = retry_after_s(answer.headers.get("retry-after"))
        if wait_s is not None:
            raise RetryAfter(wait_s, f"{problem}, Retry-After {wait_s:g} s")
        raise DeliveryFailed(problem)
    if answer.is_redirect:
        raise PermanentTaskError(
            f"{problem}: redirects are not followed (Location: {answer.headers.get('location')})"
        )
    raise PermanentTaskError(f"{problem}: {_excerpt(raw)}")


def retry_after_s(value: str | None, now: dt.datetime | None = None) -> float | None:
    """`Retry-After` in seconds (delay-seconds or an HTTP date), at most a day; None if absent, garbled."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER_S)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    seconds = (when - (now or dt.datetime.now(dt.UTC))).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def _read_capped(answer: httpx.Response, *, deadline: float) -> tuple[bytes, bool]:
    """At most MAX_ANSWER_BYTES of the answer, by `deadline`: a slow, endless answer cannot hold the task."""
    kept = bytearray()
    for piece in answer.iter_bytes():
        kept.extend(piece)
        if len(kept) > MAX_ANSWER_BYTES:
            return bytes(kept[:MAX_ANSWER_BYTES]), True
        if time.monotonic() > deadline:
            raise httpx.ReadTimeout("the answer took too long", request=answer.request)
    return bytes(kept), False


def _decode_answer(answer: httpx.Response, raw: bytes) -> Any:
    if "json" in answer.headers.get("content-type", ""):
        try:
            return msgspec.json.decode(raw)
        except msgspec.DecodeError:
            pass
    return raw.decode("utf-8", errors="replace")


def _excerpt(raw: bytes, limit: int = 200) -> str:
    text = raw.decode("utf-8", errors="replace").strip()
    return text[:limit] + ("..." if len(text) > limit else "") if text else "(empty answer)"


def _ms_since(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)
