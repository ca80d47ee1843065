"""Correlation ids: one id follows a request through every message it causes, for the logs.

A message carries its id in the `correlation_id` option. While a worker thread processes a
message, that message is the current one (`current_message_context()`), and every message sent
meanwhile carries its correlation id. A process that is not a worker (a web request) binds the
current id itself (`bind_correlation`), and what it sends carries it the same way.

A debounce batch merges messages that may carry different ids (a customer's burst of webhooks):
it runs under the id of the message that opened its window, and `correlation_ids` lists every
merged message's id in send order, the first included, so a search for any of them finds the
batch (`middleware.debounce` carries each item's id through Redis).
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from typing import Any, NamedTuple

from dramatiq.broker import Broker, MessageProxy
from dramatiq.message import Message
from dramatiq.middleware import Middleware

CORRELATION_OPTION = "correlation_id"
MERGED_CORRELATIONS_OPTION = "correlation_ids"


class MessageContext(NamedTuple):
    """What the current code runs for: a message (its id) and the correlation ids it carries."""

    message_id: str | None
    correlation_id: str | None
    merged_correlation_ids: tuple[str, ...] = ()


_current: ContextVar[MessageContext | None] = ContextVar("zapq_message_context", default=None)


def current_message_context() -> MessageContext | None:
    return _current.get()


def bind_correlation(correlation_id: str) -> Token[MessageContext | None]:
    """Make `correlation_id` current outside a worker (a web request); `unbind` with the token."""
    return _current.set(MessageContext(None, correlation_id))


def unbind(token: Token[MessageContext | None]) -> None:
    _current.reset(token)


class CorrelationIds(Middleware):
    """Copies the current correlation id onto sent messages and makes a processed message's current.

    Goes after FlowControl in the stack: a batch's merged ids are its options only once FlowControl
    has read its items.
    """

    def before_enqueue(self, broker: Broker, message: Message[Any], delay: int | None) -> None:
        current = _current.get()
        if current is not None and current.correlation_id and CORRELATION_OPTION not in message.options:
            message.options[CORRELATION_OPTION] = current.correlation_id

    def before_process_message(self, broker: Broker, message: MessageProxy) -> None:
        options = message.options
        merged = tuple(str(value) for value in options.get(MERGED_CORRELATIONS_OPTION) or ())
        correlation_id = options.get(CORRELATION_OPTION) or (merged[0] if merged else None)
        _current.set(MessageContext(message.message_id, correlation_id, merged))

    def after_process_message(
        self, broker: Broker, message: MessageProxy, *, result: Any | None = None,
        exception: BaseException | None = None,
    ) -> None:  # fmt: skip
        _current.set(None)

    def after_skip_message(self, broker: Broker, message: MessageProxy) -> None:
        _current.set(None)
