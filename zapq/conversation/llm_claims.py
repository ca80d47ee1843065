"""What a model's reply says was done to a test drive, checked against what the tools really did.

A model may write "agendei seu test drive!" without calling `book_test_drive`. The engine reads the
final text for such claims and keeps only those the burst's tools back:

- a deed ("agendei", "remarquei", "cancelei", "foi cancelado") needs that tool to have succeeded in
  this burst;
- a state ("está agendado", "remarcado") needs the booking to exist now: a booking made or moved in
  this burst, or an active (or rescheduled) booking the customer already had.

A claim under a negation ("não está agendado") is not a claim. The check reads folded text (lowercase,
no accents), so it also catches "AGENDEI" and "agendéi".
"""

from __future__ import annotations

import re
from typing import Final, Literal

from zapq.conversation.llm_tools import Booked, BurstTools, Cancelled, Rescheduled
from zapq.conversation.reading import fold

ClaimKind = Literal["booked", "rescheduled", "cancelled"]

_DEEDS: Final[dict[ClaimKind, re.Pattern[str]]] = {
    "booked": re.compile(
        r"\b(?:agendei|marquei|reservei|(?:ficou|foi|deixei) (?:agendad|marcad|reservad)\w*"
        r"|agendamento (?:feito|realizado|concluido))\b"
    ),
    "rescheduled": re.compile(
        r"\b(?:remarquei|reagendei|(?:mudei|alterei|troquei) (?:o |a |seu |sua )?(?:horario|data|dia)"
        r"|(?:ficou|foi) (?:remarcad|reagendad)\w*)\b"
    ),
    "cancelled": re.compile(r"\b(?:cancelei|desmarquei|cancelad[oa]s?|desmarcad[oa]s?)\b"),
}
_STATES: Final[dict[ClaimKind, re.Pattern[str]]] = {
    "booked": re.compile(r"\b(?:agendad[oa]s?|marcad[oa]s?|confirmad[oa]s?)\b"),
    "rescheduled": re.compile(r"\b(?:remarcad[oa]s?|reagendad[oa]s?)\b"),
}
_CHANGES: Final[dict[ClaimKind, type[Booked | Rescheduled | Cancelled]]] = {
    "booked": Booked,
    "rescheduled": Rescheduled,
    "cancelled": Cancelled,
}
_NEGATION = re.compile(r"\b(?:nao|nem|nenhum|nenhuma|ainda sem|sem)\b[^.!?\n]{0,30}$")


def unbacked_claims(text: str, tools: BurstTools) -> list[ClaimKind]:
    """The kinds of change `text` claims that the tools did not make (empty when every claim holds)."""
    folded = fold(text)
    unbacked: list[ClaimKind] = []
    for kind, deed in _DEEDS.items():
        state = _STATES.get(kind)
        if (_claims(deed, folded) and not _done(kind, tools)) or (
            state is not None and _claims(state, folded) and not _holds(kind, tools)
        ):
            unbacked.append(kind)
    return unbacked


def _done(kind: ClaimKind, tools: BurstTools) -> bool:
    """A tool made this kind of change in this burst."""
    return any(isinstance(change, _CHANGES[kind]) for change in tools.changes)


def _holds(kind: ClaimKind, tools: BurstTools) -> bool:
    """The customer has a booking in that state now (made in this burst or before)."""
    if _done(kind, tools) or (kind == "booked" and _done("rescheduled", tools)):
        return True
    active = tools.inventory.active_test_drives(tools.wa_id)
    return bool(active) if kind == "booked" else any(drive.status == "rescheduled" for drive in active)


def _claims(pattern: re.Pattern[str], folded: str) -> bool:
    return any(not _NEGATION.search(folded[: match.start()]) for match in pattern.finditer(folded))
