"""The reply the rule-based engine is assembling for one burst, shared by the modules that write its parts."""

from __future__ import annotations

from dataclasses import dataclass, field

from zapq.conversation.engine import Action, BookingChangeDraft, TestDriveDraft, TradeInDraft


@dataclass
class Answer:
    """The text's parts in order, actions, buttons, the intent answered, and the drafts kept for next time."""

    facts: dict[str, str]
    draft: TestDriveDraft | None
    booking_change: BookingChangeDraft | None = None
    trade_in: TradeInDraft | None = None
    parts: list[str] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    buttons: list[tuple[str, str]] = field(default_factory=list)
    intent: str = ""

    def say(self, text: str, intent: str | None = None) -> None:
        self.parts.append(text)
        if intent is not None:
            self.intent = intent
