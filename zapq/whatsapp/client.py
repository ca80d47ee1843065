"""A synchronous WhatsApp Cloud API client: one POST to `/{phone_number_id}/messages` per call.

Synchronous because actors run on worker threads. Every failure is raised as a
`zapq.whatsapp.errors.WhatsAppSendError` subclass saying what to do next. Meta's limits on
interactive messages are checked before sending and raise `ValueError` naming the limit:
a silently truncated button would mislead the customer.

The bearer token goes only to `/{phone_number_id}/messages` under `api_url`: the id must be 1 to 32
digits (checked when the client is built) and is escaped in the path anyway, so no input can point
the token at another path or host.

Once the Graph API rejects the access token, the whole process stops calling it with that token
(`AccessTokenInvalid` is raised at once) until `reset_token_circuit()` or a different token.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec

from zapq import metrics
from zapq.whatsapp.errors import (
    AccessTokenInvalid,
    PermanentSendError,
    WhatsAppSendError,
    classify_response,
    transport_failure,
)

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 10.0

# Meta's phone number ids are 15-16 digits; anything else must never become part of a URL.
_PHONE_NUMBER_ID = re.compile("[0-9]{1,32}")

MAX_TEXT_BODY = 4096
MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_BUTTON_ID = 256
MAX_BUTTONS_BODY = 1024
MAX_LIST_BUTTON_TEXT = 20
MAX_LIST_SECTIONS = 10
MAX_LIST_ROWS = 10
MAX_LIST_SECTION_TITLE = 24
MAX_LIST_ROW_TITLE = 24
MAX_LIST_ROW_DESCRIPTION = 72
MAX_LIST_ROW_ID = 200
MAX_LIST_BODY = 4096
MAX_HEADER_TEXT = 60
MAX_FOOTER_TEXT = 60


class ListRow(msgspec.Struct, frozen=True, omit_defaults=True):
    """One choice of a list message; `id` comes back in the customer's reply."""

    id: str
    title: str
    description: str | None = None


class ListSection(msgspec.Struct, frozen=True, omit_defaults=True):
    """A group of rows; the title is required when the list has more than one section."""

    rows: list[ListRow]
    title: str | None = None


class _MessageId(msgspec.Struct):
    id: str


class _SendAnswer(msgspec.Struct):
    messages: list[_MessageId] = []


_send_answer_decoder = msgspec.json.Decoder(_SendAnswer)


class WhatsAppClient:
    """Sends messages as one business phone number.

    :param api_url: Graph API base URL including the version, e.g. https://graph.facebook.com/v21.0.
    :param access_token: Bearer token; may be replaced later by assigning `access_token`.
    :param phone_number_id: the business phone number the messages come from: 1 to 32 digits, or
        ValueError is raised.
    :param timeout_s: per-request timeout; a timeout raises `RetryableSendError`.
    :param http: an httpx.Client to share; by default the client owns one (see `close`).
    """

    def __init__(
        self,
        api_url: str,
        access_token: str,
        phone_number_id: str,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        http: httpx.Client | None = None,
    ) -> None:
        if not _PHONE_NUMBER_ID.fullmatch(phone_number_id):
            raise ValueError(f"phone_number_id must be 1 to 32 digits, got {phone_number_id[:64]!r}")
        self.api_url = api_url.rstrip("/")
        self.access_token = access_token
        self._phone_number_id = phone_number_id
        # Escaped although it is only digits: the token must never go to a path an input chose.
        self._messages_url = f"{self.api_url}/{urllib.parse.quote(phone_number_id, safe='')}/messages"
        self.timeout_s = timeout_s
        self._owns_http = http is None
        self._http = http if http is not None else httpx.Client(timeout=timeout_s)

    @property
    def phone_number_id(self) -> str:
        """Read-only: the messages URL, where the token goes, was built from it."""
        return self._phone_number_id

    @property
    def messages_url(self) -> str:
        """Where every request of this client goes (the token is not part of it)."""
        return self._messages_url

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> WhatsAppClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def send_text(self, to: str, body: str, *, preview_url: bool = False, reply_to: str | None = None) -> str:
        """Send a text message; return its wamid."""
        _require_length("text body", body, MAX_TEXT_BODY)
        return self._send_message(to, "text", {"body": body, "preview_url": preview_url}, reply_to)

    def send_buttons(
        self,
        to: str,
        body: str,
        buttons: Sequence[tuple[str, str]],
        *,
        header: str | None = None,
        footer: str | None = None,
        reply_to: str | None = None,
    ) -> str:
        """Send up to 3 reply buttons given as (id, title) pairs; return the wamid."""
        _require_length("buttons body", body, MAX_BUTTONS_BODY)
        if not 1 <= len(buttons) <= MAX_BUTTONS:
            raise ValueError(f"a buttons message takes 1 to {MAX_BUTTONS} buttons, got {len(buttons)}")
        _require_unique("button id", [button_id for button_id, _ in buttons])
        for button_id, title in buttons:
            _require_length("button id", button_id, MAX_BUTTON_ID)
            _require_length("button title", title, MAX_BUTTON_TITLE)
        action = {
            "buttons": [
                {"type": "reply", "reply": {"id": button_id, "title": title}} for button_id, title in buttons
            ]
        }
        interactive = _interactive("button", body, action, header, footer)
        return self._send_message(to, "interactive", interactive, reply_to)

    def send_list(
        self,
        to: str,
        body: str,
        button_text: str,
        sections: Sequence[ListSection],
        *,
        header: str | None = None,
        footer: str | None = None,
        reply_to: str | None = None,
    ) -> str:
        """Send a list message (the button opens the rows); return the wamid."""
        _require_length("list body", body, MAX_LIST_BODY)
        _require_length("list button text", button_text, MAX_LIST_BUTTON_TEXT)
        _check_sections(sections)
        action = {"button": button_text, "sections": list(sections)}
        interactive = _interactive("list", body, action, header, footer)
        return self._send_message(to, "interactive", interactive, reply_to)

    def send_template(
        self, to: str, name: str, language_code: str, components: list[dict[str, Any]] | None = None
    ) -> str:
        """Send an approved template (the only kind allowed outside the 24 h window); return the wamid."""
        template: dict[str, Any] = {"name": name, "language": {"code": language_code}}
        if components:
            template["components"] = components
        return self._send_message(to, "template", template, None)

    def mark_read(self, wamid: str) -> None:
        """Mark a received message (and the ones before it) as read: blue ticks for the customer."""
        self._post({"messaging_product": "whatsapp", "status": "read", "message_id": wamid})

    def mark_read_with_typing(self, wamid: str) -> None:
        """Mark as read and show "typing…" until the next message or 25 s, whichever comes first."""
        self._post(
            {
                "messaging_product": "whatsapp",
                "status": "read",
                "message_id": wamid,
                "typing_indicator": {"type": "text"},
            }
        )

    def _send_message(self, to: str, kind: str, content: dict[str, Any], reply_to: str | None) -> str:
        message: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": kind,
            kind: content,
        }
        if reply_to:
            message["context"] = {"message_id": reply_to}
        answer = self._post(message)
        try:
            ids = _send_answer_decoder.decode(answer.content).messages
        except msgspec.DecodeError:
            ids = []
        if not ids:
            # Meta may have accepted it; sending again could deliver it twice, so don't retry.
            raise PermanentSendError("answer carried no message id", http_status=answer.status_code)
        return ids[0].id

    def _post(self, payload: dict[str, Any]) -> httpx.Response:
        TOKEN_CIRCUIT.check(self.access_token)
        try:
            answer = self._http.post(
                self._messages_url,
                content=msgspec.json.encode(payload),
                headers={"authorization": f"Bearer {self.access_token}", "content-type": "application/json"},
                timeout=self.timeout_s,
            )
        except httpx.TransportError as error:
            raise _counted(transport_failure(error)) from error
        if answer.is_success:
            return answer
        failure = _counted(
            classify_response(answer.status_code, answer.content, answer.headers.get("retry-after"))
        )
        if isinstance(failure, AccessTokenInvalid):
            TOKEN_CIRCUIT.open(self.access_token, failure)
        raise failure


@dataclass
class _TokenCircuitState:
    token_fingerprint: str | None = None
    failure: AccessTokenInvalid | None = None


class TokenCircuit:
    """Process-wide memory of the token Graph rejected, so no thread keeps sending with it.

    Only the SHA-256 of the token is kept. A request with a different token closes the circuit
    (someone fixed it); if that one is rejected too, it opens again.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state = _TokenCircuitState()

    @property
    def is_open(self) -> bool:
        return self._state.failure is not None

    def check(self, access_token: str) -> None:
        """Raise the remembered `AccessTokenInvalid` when this is the token Graph rejected."""
        with self._lock:
            state = self._state
            if state.failure is None:
                return
            if state.token_fingerprint == _fingerprint(access_token):
                raise AccessTokenInvalid(
                    f"not sent: the access token was rejected earlier ({state.failure.title})",
                    code=state.failure.code,
                    details=state.failure.details,
                )
            self._state = _TokenCircuitState()
        metrics.whatsapp_token_invalid().set(0)
        logger.warning("WhatsApp access token replaced; sending resumes")

    def open(self, access_token: str, failure: AccessTokenInvalid) -> None:
        with self._lock:
            was_open = self._state.failure is not None
            self._state = _TokenCircuitState(_fingerprint(access_token), failure)
        metrics.whatsapp_token_invalid().set(1)
        if not was_open:
            logger.critical("WhatsApp access token rejected; sending stops until it is replaced: %s", failure)

    def reset(self) -> None:
        with self._lock:
            self._state = _TokenCircuitState()
        metrics.whatsapp_token_invalid().set(0)


TOKEN_CIRCUIT = TokenCircuit()


def reset_token_circuit() -> None:
    """Let sends through again after the operator fixed the token without changing it in this process."""
    TOKEN_CIRCUIT.reset()


def _counted(error: WhatsAppSendError) -> WhatsAppSendError:
    metrics.whatsapp_send_errors().labels(error.metric_label).inc()
    return error


def _fingerprint(access_token: str) -> str:
    return hashlib.sha256(access_token.encode()).hexdigest()


def _interactive(
    kind: str, body: str, action: dict[str, Any], header: str | None, footer: str | None
) -> dict[str, Any]:
    interactive: dict[str, Any] = {"type": kind, "body": {"text": body}, "action": action}
    if header:
        _require_length("header", header, MAX_HEADER_TEXT)
        interactive["header"] = {"type": "text", "text": header}
    if footer:
        _require_length("footer", footer, MAX_FOOTER_TEXT)
        interactive["footer"] = {"text": footer}
    return interactive


def _check_sections(sections: Sequence[ListSection]) -> None:
    if not 1 <= len(sections) <= MAX_LIST_SECTIONS:
        raise ValueError(f"a list takes 1 to {MAX_LIST_SECTIONS} sections, got {len(sections)}")
    rows = [row for section in sections for row in section.rows]
    if not 1 <= len(rows) <= MAX_LIST_ROWS:
        raise ValueError(f"a list takes 1 to {MAX_LIST_ROWS} rows across all sections, got {len(rows)}")
    _require_unique("list row id", [row.id for row in rows])
    for section in sections:
        if not section.rows:
            raise ValueError("every list section needs at least one row")
        if section.title is None:
            if len(sections) > 1:
                raise ValueError("every section needs a title when the list has more than one section")
        else:
            _require_length("list section title", section.title, MAX_LIST_SECTION_TITLE)
    for row in rows:
        _require_length("list row id", row.id, MAX_LIST_ROW_ID)
        _require_length("list row title", row.title, MAX_LIST_ROW_TITLE)
        if row.description is not None:
            _require_length("list row description", row.description, MAX_LIST_ROW_DESCRIPTION, minimum=0)


def _require_length(what: str, text: str, maximum: int, *, minimum: int = 1) -> None:
    if not minimum <= len(text) <= maximum:
        raise ValueError(f"{what} must be {minimum} to {maximum} characters, got {len(text)}: {text!r}")


def _require_unique(what: str, values: list[str]) -> None:
    duplicates = sorted({value for value in values if values.count(value) > 1})
    if duplicates:
        raise ValueError(f"each {what} must be unique; repeated: {', '.join(duplicates)}")
