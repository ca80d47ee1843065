"""`email_notification`: a templated message (text, and HTML when given) sent through `SMTP_URL`.

Templates are `string.Template`s: `$name` or `${name}` is replaced by that variable, `$$` is a
dollar sign, and nothing else is evaluated. A template naming a variable the task does not give is
refused at submission. In the HTML body every variable is HTML-escaped; subject and text take it
as it is (line breaks in the subject become spaces: no header injection).

Delivery is tracked per recipient: the result lists each address as accepted or refused with the
server's code and message. Some refused and some accepted is a completed task (a retry would send
the accepted ones a second copy); all refused fails it, retried only when a refusal was temporary
(4xx). The `Message-ID` is made from the task id, so a copy sent again after a crash can be
recognised as the same message.
"""

from __future__ import annotations

import email.utils
import html
import smtplib
import ssl
import string
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from zapq.background.handlers import PermanentTaskError, TaskContext, register
from zapq.background.types.payloads import decode_payload
from zapq.background.types.retries import retry_policy
from zapq.settings import Settings, get_settings
from zapq.smtp_url import SmtpServer, parse_smtp_url

TASK_TYPE = "email_notification"
EmailAddress = Annotated[
    str, Meta(max_length=254, pattern=r"^[^@\s<>,;:\"()\[\]\\]+@[^@\s<>,;:\"()\[\]\\]+$")
]
VariableName = Annotated[str, Meta(pattern=r"^[_a-zA-Z][_a-zA-Z0-9]{0,63}$")]
VariableValue = str | int | float | bool | None


class EmailNotSent(Exception):
    """The server did not take the message this time (unreachable, a 4xx answer); worth retrying."""


class EmailNotificationPayload(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    to: Annotated[list[EmailAddress], Meta(min_length=1, max_length=50, description="Recipients' addresses.")]
    subject: Annotated[str, Meta(min_length=1, max_length=500, description="Subject template ($name).")]
    text_body: Annotated[
        str, Meta(min_length=1, max_length=200_000, description="Plain-text body template ($name).")
    ]
    html_body: Annotated[
        Annotated[str, Meta(max_length=500_000)] | None,
        Meta(description="HTML body template ($name, each value HTML-escaped)."),
    ] = None
    variables: Annotated[
        dict[VariableName, VariableValue], Meta(max_length=100, description="The templates' values by name.")
    ] = msgspec.field(default_factory=dict)
    reply_to: Annotated[EmailAddress | None, Meta(description="Where replies go (From is SMTP_FROM).")] = None

    def __post_init__(self) -> None:
        for field, template in (
            ("subject", self.subject),
            ("text_body", self.text_body),
            ("html_body", self.html_body),
        ):
            if template is None:
                continue
            parsed = string.Template(template)
            if not parsed.is_valid():
                raise ValueError(f"{field} has a `$` that is not $name, ${{name}} or $$")
            missing = sorted(set(parsed.get_identifiers()) - set(self.variables))
            if missing:
                raise ValueError(f"{field} uses ${missing[0]}, which variables does not give")


def render(template: str, variables: Mapping[str, VariableValue], *, escape_html: bool = False) -> str:
    """`template` with its variables filled in, each HTML-escaped when `escape_html`."""
    values = {name: _text(value) for name, value in variables.items()}
    if escape_html:
        values = {name: html.escape(value, quote=True) for name, value in values.items()}
    return string.Template(template).substitute(values)


def _text(value: VariableValue) -> str:
    return "" if value is None else str(value)


def compose(request: EmailNotificationPayload, sender: str, message_id: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(request.to)
    message["Subject"] = " ".join(render(request.subject, request.variables).split())
    message["Message-ID"] = message_id
    message["Date"] = email.utils.formatdate(localtime=False)
    if request.reply_to:
        message["Reply-To"] = request.reply_to
    message.set_content(render(request.text_body, request.variables))
    if request.html_body is not None:
        message.add_alternative(
            render(request.html_body, request.variables, escape_html=True), subtype="html"
        )
    return message


@register(TASK_TYPE, retry=retry_policy(TASK_TYPE))
def send_email(context: TaskContext, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Render and send the message; the result says, per recipient, whether the server took it."""
    request = decode_payload(payload, EmailNotificationPayload)
    settings = get_settings()
    if not settings.smtp_url:
        raise PermanentTaskError("email_notification needs SMTP_URL, which is unset")
    try:
        server = parse_smtp_url(settings.smtp_url)
    except ValueError as error:
        raise PermanentTaskError(f"SMTP_URL is invalid: {error}") from None
    message = compose(request, settings.smtp_from, f"<task-{context.task_id}@zapq>")
    context.check_cancelled()
    refused = _send(context, server, settings, message, request.to)
    recipients = [_outcome(address, refused.get(address)) for address in request.to]
    accepted = sum(1 for recipient in recipients if recipient["accepted"])
    context.log(f"{accepted} of {len(recipients)} recipients accepted by {server.host}")
    return {"message_id": message["Message-ID"], "accepted": accepted, "refused": len(recipients) - accepted,
            "recipients": recipients}  # fmt: skip


def _outcome(address: str, refusal: tuple[int, bytes] | None) -> dict[str, Any]:
    if refusal is None:
        return {"address": address, "accepted": True}
    code, reason = refusal
    return {"address": address, "accepted": False, "code": code, "reason": _decoded(reason)}


def _send(
    context: TaskContext, server: SmtpServer, settings: Settings, message: EmailMessage, recipients: list[str]
) -> dict[str, tuple[int, bytes]]:
    """Send `message`; return the refused recipients (smtplib's dict) or raise, classified for retries."""
    tls = ssl.create_default_context(cafile=settings.smtp_ca_file or None)
    envelope_from = email.utils.parseaddr(settings.smtp_from)[1]
    where = f"attempt {context.attempt}: SMTP {server.shown}"
    try:
        client = (
            smtplib.SMTP_SSL(server.host, server.port, timeout=settings.smtp_timeout_s, context=tls)
            if server.security == "tls"
            else smtplib.SMTP(server.host, server.port, timeout=settings.smtp_timeout_s)
        )
        with client:
            client.ehlo()
            if server.security == "starttls":
                client.starttls(context=tls)
                client.ehlo()
            if server.username:
                client.login(server.username, server.password)
            return client.send_message(message, from_addr=envelope_from, to_addrs=recipients)
    except smtplib.SMTPRecipientsRefused as error:
        reasons = "; ".join(
            f"{address}: {code} {_decoded(text)}" for address, (code, text) in error.recipients.items()
        )
        context.log(f"{where} -> every recipient refused: {reasons}", "error")
        if any(400 <= code < 500 for code, _ in error.recipients.values()):
            raise EmailNotSent(f"every recipient refused, some for now: {reasons}") from None
        raise PermanentTaskError(f"every recipient refused: {reasons}") from None
    except (
        smtplib.SMTPAuthenticationError,
        smtplib.SMTPNotSupportedError,
        ssl.SSLCertVerificationError,
    ) as error:
        context.log(f"{where} -> {type(error).__name__}", "error")
        raise PermanentTaskError(f"{server.shown}: {type(error).__name__}: {error}") from None
    except smtplib.SMTPResponseException as error:
        context.log(f"{where} -> {error.smtp_code}", "warning")
        problem = f"{server.shown} answered {error.smtp_code} {_decoded(error.smtp_error)}"
        if 500 <= error.smtp_code < 600:
            raise PermanentTaskError(problem) from None
        raise EmailNotSent(problem) from None
    except (smtplib.SMTPException, OSError) as error:
        context.log(f"{where} -> {type(error).__name__}", "warning")
        raise EmailNotSent(f"{server.shown}: {type(error).__name__}: {error}") from None


def _decoded(text: bytes | str) -> str:
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else text
