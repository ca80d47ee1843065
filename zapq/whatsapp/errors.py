"""Graph API failures, classified by error code into what the sender should do next.

Meta asks integrations to branch on `error.code` (and read `error_data.details`), never on the
message text, whose titles are being deprecated. The HTTP status only decides when there is no
code we recognise: 429 and 5xx are worth retrying, any other 4xx is not.
"""

from __future__ import annotations

import msgspec

THROUGHPUT_LIMIT = 130429  # the business number sends faster than its throughput (80 msg/s)
PAIR_RATE_LIMIT = 131056  # too many messages to one recipient in a short time
OUTSIDE_SERVICE_WINDOW = 131047  # more than 24 h since the customer last wrote: templates only
UNDELIVERABLE = 131026  # not a WhatsApp user, old app, blocked the business, ...
SPAM_RATE_LIMIT = 131048  # quality restriction on the number: retrying makes it worse
ACCESS_TOKEN_INVALID = 190  # expired or revoked token

# Throttling and temporary-outage codes Meta documents besides the two above: app call rate (4),
# WhatsApp Business Account rate (80007), service temporarily down (2, 133004).
RETRYABLE_CODES = frozenset({THROUGHPUT_LIMIT, PAIR_RATE_LIMIT, 4, 80007, 2, 133004})
PERMANENT_CODES = frozenset({UNDELIVERABLE, SPAM_RATE_LIMIT})

# Suggested waits when the answer carries no Retry-After: throughput is per second, and the pair
# rate allows about one message every 6 s to the same recipient.
SUGGESTED_DELAY_S = {THROUGHPUT_LIMIT: 1.0, PAIR_RATE_LIMIT: 6.0}


class WhatsAppSendError(Exception):
    """A request to the Cloud API that did not succeed.

    `code` is Graph's error code (None when the answer had none, e.g. a timeout or a proxy's
    HTML page), `http_status` the HTTP status (None when no answer came), `title` a short
    summary and `details` Meta's explanation from `error_data.details`.
    """

    def __init__(
        self,
        title: str,
        *,
        code: int | None = None,
        http_status: int | None = None,
        details: str = "",
        fbtrace_id: str | None = None,
    ) -> None:
        super().__init__(_describe(title, code, http_status, details))
        self.title = title
        self.code = code
        self.http_status = http_status
        self.details = details
        self.fbtrace_id = fbtrace_id

    @property
    def metric_label(self) -> str:
        """The `code` label of `zapq_whatsapp_send_errors_total`: a bounded set of values."""
        if self.code is not None:
            return str(self.code)
        if self.http_status is not None:
            return f"http_{self.http_status}"
        return "transport"


class RetryableSendError(WhatsAppSendError):
    """Worth retrying with backoff; `retry_after_s` is the wait Meta or the code suggests, if any."""

    def __init__(
        self,
        title: str,
        *,
        code: int | None = None,
        http_status: int | None = None,
        details: str = "",
        fbtrace_id: str | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(title, code=code, http_status=http_status, details=details, fbtrace_id=fbtrace_id)
        self.retry_after_s = retry_after_s


class OutsideServiceWindow(WhatsAppSendError):
    """The customer's 24 h window is closed: only a template message can reach them now."""


class PermanentSendError(WhatsAppSendError):
    """Retrying cannot help: record the failure and move on."""


class AccessTokenInvalid(WhatsAppSendError):
    """The access token expired or was revoked: every send fails until an operator fixes it."""


class _ErrorData(msgspec.Struct):
    details: str = ""


class _GraphError(msgspec.Struct):
    message: str = ""
    type: str = ""
    code: int | None = None
    error_subcode: int | None = None
    error_data: _ErrorData | None = None
    fbtrace_id: str | None = None


class _GraphErrorBody(msgspec.Struct):
    error: _GraphError


_error_decoder = msgspec.json.Decoder(_GraphErrorBody, strict=False)


def classify_response(http_status: int, body: bytes, retry_after: str | None = None) -> WhatsAppSendError:
    """The error for a non-2xx answer; `retry_after` is the answer's Retry-After header, if any."""
    try:
        graph = _error_decoder.decode(body).error
    except msgspec.DecodeError:
        graph = _GraphError()
    title = graph.message or f"HTTP {http_status}"
    details = graph.error_data.details if graph.error_data else ""
    code = graph.code

    def error(kind: type[WhatsAppSendError]) -> WhatsAppSendError:
        return kind(title, code=code, http_status=http_status, details=details, fbtrace_id=graph.fbtrace_id)

    if code == ACCESS_TOKEN_INVALID:
        return error(AccessTokenInvalid)
    if code == OUTSIDE_SERVICE_WINDOW:
        return error(OutsideServiceWindow)
    if code in PERMANENT_CODES:
        return error(PermanentSendError)
    if code in RETRYABLE_CODES or http_status == 429 or http_status >= 500:
        delay = _seconds(retry_after)
        if delay is None and code is not None:
            delay = SUGGESTED_DELAY_S.get(code)
        return RetryableSendError(
            title,
            code=code,
            http_status=http_status,
            details=details,
            fbtrace_id=graph.fbtrace_id,
            retry_after_s=delay,
        )
    return error(PermanentSendError)


def transport_failure(error: Exception) -> RetryableSendError:
    """A timeout or connection failure: no answer came, so it is worth another try."""
    return RetryableSendError(f"{type(error).__name__}: {error}".rstrip(": "))


def _seconds(retry_after: str | None) -> float | None:
    # Only the delta-seconds form: Graph does not send HTTP dates here.
    if retry_after is None:
        return None
    try:
        seconds = float(retry_after)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def _describe(title: str, code: int | None, http_status: int | None, details: str) -> str:
    parts = [title]
    if code is not None:
        parts.append(f"code={code}")
    if http_status is not None:
        parts.append(f"http={http_status}")
    if details:
        parts.append(details)
    return "; ".join(parts)
