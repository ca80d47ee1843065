"""Customer scripts: what a customer says, turn by turn, what the bot must answer and what must be stored.

A `Script` is data: a name and its `Turn`s (`say("...", has=[...], drives=[...])`). `play` runs one
against any `ConversationEngine`, carrying the state between turns as the caller does (through JSON,
with `opted_out` from the conversation's row, which an `OptOut` sets and an `OptIn` clears), on a fixed
clock: turn N is sent at Wednesday 19/11/2025 10:00 (São Paulo) plus N minutes.

What a turn may check, all optional: text the reply contains (`has`) or must not (`lacks`), its
buttons, the kinds of its actions, text the Handoff summary contains, the intent, and the
customer's test drives as stored after the turn (`drives`: every row, cancelled ones included).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import msgspec

from tests.zapq.conversation.messages import WA_ID, WEDNESDAY_10AM, media, message, stored
from zapq.conversation.engine import ConversationEngine, ConversationState, Handoff, OptIn, OptOut
from zapq.conversation.when import SAO_PAULO
from zapq.whatsapp.events import InboundMessage, MessageKind

TURN_GAP = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class Drive:
    """One stored test drive: status, local start, the car's model (None: chosen at the store)."""

    status: str
    starts_at: dt.datetime
    model: str | None


@dataclass(frozen=True)
class Turn:
    texts: tuple[str, ...]
    kind: MessageKind = "text"
    reply_id: str | None = None
    has: tuple[str, ...] = ()
    lacks: tuple[str, ...] = ()
    buttons: tuple[str, ...] | None = None
    actions: tuple[type, ...] | None = ()
    handoff_has: tuple[str, ...] = ()
    intent: str | None = None
    drives: tuple[Drive, ...] | None = None


@dataclass(frozen=True)
class Script:
    name: str
    turns: tuple[Turn, ...]
    profile_name: str | None = "Maria Silva"
    tags: frozenset[str] = field(default_factory=frozenset)


def say(
    *texts: str,
    has: Sequence[str] = (),
    lacks: Sequence[str] = (),
    buttons: Sequence[str] | None = None,
    actions: Sequence[type] | None = (),
    handoff_has: Sequence[str] = (),
    intent: str | None = None,
    drives: Sequence[Drive] | None = None,
    kind: MessageKind = "text",
    reply_id: str | None = None,
) -> Turn:
    """The customer sends `texts` as one burst (or a photo with a caption, or a tap on a button)."""
    return Turn(
        texts=tuple(texts),
        kind=kind,
        reply_id=reply_id,
        has=tuple(has),
        lacks=tuple(lacks),
        buttons=tuple(buttons) if buttons is not None else None,
        actions=tuple(actions) if actions is not None else None,
        handoff_has=tuple(handoff_has),
        intent=intent,
        drives=tuple(drives) if drives is not None else None,
    )


def photo(caption: str, **expected: object) -> Turn:
    return say(caption, kind="image", **expected)  # type: ignore[arg-type]


def tap(reply_id: str, title: str, **expected: object) -> Turn:
    return say(title, kind="interactive", reply_id=reply_id, **expected)  # type: ignore[arg-type]


def script(name: str, *turns: Turn, tags: Sequence[str] = ()) -> Script:
    return Script(name, turns, tags=frozenset(tags))


def local(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A moment in November 2025 on the dealership's clock."""
    return dt.datetime(2025, 11, day, hour, minute, tzinfo=SAO_PAULO)


def play(
    played: Script,
    engine: ConversationEngine,
    stored_drives: Callable[[], list[Drive]],
    *,
    wa_id: str = WA_ID,
) -> list[tuple[Turn, str]]:
    """Play `played` against `engine`, asserting every turn; return each turn with the reply's text."""
    state = ConversationState(wa_id=wa_id, profile_name=played.profile_name)
    opted_out = False
    transcript: list[tuple[Turn, str]] = []
    for index, turn in enumerate(played.turns):
        at = WEDNESDAY_10AM + index * TURN_GAP
        state = msgspec.structs.replace(state, opted_out=opted_out)
        reply = engine.reply(state, _burst(turn, at, index))
        where = f"{played.name}, turn {index + 1} ({' / '.join(turn.texts)!r}) answered:\n{reply.text}"
        for expected in turn.has:
            assert expected in reply.text, f"{where}\n--- expected to contain: {expected!r}"
        for unexpected in turn.lacks:
            assert unexpected not in reply.text, f"{where}\n--- expected NOT to contain: {unexpected!r}"
        if turn.buttons is not None:
            assert [button_id for button_id, _ in reply.buttons] == list(turn.buttons), where
        if turn.actions is not None:
            assert [type(action) for action in reply.actions] == list(turn.actions), where
        handoffs = [action for action in reply.actions if isinstance(action, Handoff)]
        for expected in turn.handoff_has:
            assert handoffs and expected in handoffs[0].summary, (
                f"{where}\n--- handoff summary {handoffs[0].summary if handoffs else None!r}"
                f" expected to contain {expected!r}"
            )
        if turn.intent is not None:
            assert getattr(reply, "intent", turn.intent) == turn.intent, where
        if turn.drives is not None:
            assert stored_drives() == list(turn.drives), where
        if any(isinstance(action, OptOut) for action in reply.actions):
            opted_out = True
        elif any(isinstance(action, OptIn) for action in reply.actions):
            opted_out = False
        state = stored(reply.state)
        transcript.append((turn, reply.text))
    return transcript


def _burst(turn: Turn, at: dt.datetime, index: int) -> list[InboundMessage]:
    if turn.kind in ("image", "video", "document"):
        return [media(turn.kind, caption=turn.texts[0] if turn.texts else None, at=at)]
    count = len(turn.texts)
    return [
        message(
            f"wamid.script.{index}.{position}",
            turn.kind,
            text,
            at - dt.timedelta(seconds=count - 1 - position),
            reply_id=turn.reply_id,
        )
        for position, text in enumerate(turn.texts)
    ]
