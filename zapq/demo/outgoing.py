"""What the bot sent, as the demo stand-in reads it from a Cloud API request, and how it is shown.

A request to `/{phone_number_id}/messages` is decoded into `OutgoingRequest` (anything from the
network may be malformed: `DecodeError` means a Graph-style 400), then into `Outgoing`, one shape
for text, reply buttons, lists and templates, which both the stand-in's console and `make chat`
print. `Choice`s are what a customer may tap, numbered from 1 in the order WhatsApp shows them.
"""

from __future__ import annotations

import textwrap
from typing import Literal

import msgspec

Kind = Literal["text", "buttons", "list", "template", "other"]


class _Text(msgspec.Struct):
    body: str = ""


class _Label(msgspec.Struct):
    text: str = ""


class _ReplyButton(msgspec.Struct):
    id: str = ""
    title: str = ""


class _Button(msgspec.Struct):
    reply: _ReplyButton | None = None


class _Row(msgspec.Struct):
    id: str = ""
    title: str = ""
    description: str | None = None


class _Section(msgspec.Struct):
    rows: list[_Row] = []
    title: str | None = None


class _Action(msgspec.Struct):
    buttons: list[_Button] = []
    button: str | None = None
    sections: list[_Section] = []


class _Interactive(msgspec.Struct):
    type: str = ""
    body: _Label | None = None
    header: _Label | None = None
    footer: _Label | None = None
    action: _Action | None = None


class _Language(msgspec.Struct):
    code: str = ""


class _Template(msgspec.Struct):
    name: str = ""
    language: _Language | None = None


class _Typing(msgspec.Struct):
    type: str = ""


class OutgoingRequest(msgspec.Struct):
    """A POST to `/messages`: a message to send (`type` set) or a mark-as-read (`status` set)."""

    messaging_product: str = ""
    to: str = ""
    type: str = ""
    status: str = ""
    message_id: str = ""
    typing_indicator: _Typing | None = None
    text: _Text | None = None
    interactive: _Interactive | None = None
    template: _Template | None = None

    @property
    def is_read_receipt(self) -> bool:
        return not self.type and self.status == "read"


request_decoder = msgspec.json.Decoder(OutgoingRequest)


class Choice(msgspec.Struct, frozen=True):
    """A reply button or list row; its `id` is what the customer's tap sends back."""

    id: str
    title: str
    description: str | None = None


class Outgoing(msgspec.Struct, frozen=True, kw_only=True):
    """One message the bot sent to `to`; `seq` orders all messages the stand-in took."""

    seq: int
    wamid: str
    to: str
    kind: Kind
    text: str
    header: str | None = None
    footer: str | None = None
    choices: list[Choice] = []
    list_button: str | None = None


def outgoing(request: OutgoingRequest, *, seq: int, wamid: str) -> Outgoing:
    """The message a send request carries, in the one shape the demo shows."""
    message = Outgoing(seq=seq, wamid=wamid, to=request.to, kind="other", text=f"a {request.type!r} message")
    interactive = request.interactive
    if request.type == "text" and request.text is not None:
        return msgspec.structs.replace(message, kind="text", text=request.text.body)
    if request.type == "template" and request.template is not None:
        language = request.template.language.code if request.template.language else ""
        return msgspec.structs.replace(
            message, kind="template", text=f"template {request.template.name} ({language})"
        )
    if request.type != "interactive" or interactive is None or interactive.action is None:
        return message
    action = interactive.action
    message = msgspec.structs.replace(
        message,
        text=interactive.body.text if interactive.body else "",
        header=interactive.header.text if interactive.header else None,
        footer=interactive.footer.text if interactive.footer else None,
    )
    if interactive.type == "button":
        buttons = [Choice(b.reply.id, b.reply.title) for b in action.buttons if b.reply is not None]
        return msgspec.structs.replace(message, kind="buttons", choices=buttons)
    if interactive.type == "list":
        rows = [Choice(r.id, r.title, r.description) for section in action.sections for r in section.rows]
        return msgspec.structs.replace(message, kind="list", choices=rows, list_button=action.button)
    return message


def describe(message: Outgoing, *, width: int = 76) -> list[str]:
    """The message as lines a person reads: header, body, footer, then its numbered choices."""
    lines: list[str] = []
    if message.header:
        lines.append(f"*{message.header}*")
    for paragraph in message.text.splitlines() or [""]:
        lines.extend(textwrap.wrap(paragraph, width) or [""])
    if message.footer:
        lines.append(f"_{message.footer}_")
    if message.kind == "list" and message.list_button:
        lines.append(f"[{message.list_button}]")
    for number, choice in enumerate(message.choices, 1):
        detail = f" ({choice.description})" if choice.description else ""
        lines.append(f"  {number}) {choice.title}{detail}")
    return lines
