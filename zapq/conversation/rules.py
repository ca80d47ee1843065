"""The default engine: PT-BR answers from keyword rules, the inventory and the dealership's facts, offline.

One reply per burst, built in a fixed order: a greeting when the customer greeted (and, for a customer
who had opted out, that they receive messages again), a word on any media they sent, then the answer to
the main request, in this priority: handoff, a change to a booked test drive (reschedule, cancel), a
test drive being drafted and dropped, a trade-in, the store's address/hours/phone/documents, financing,
a comparison, booking a test drive, the cheapest/dearest/newest car, price, search; or the menu when
nothing was understood.

A batch of reactions only gets an empty reply, meaning "send nothing", and the state comes
back unchanged: a thumbs-up is not a question. A confirmation (booked, moved, cancelled) is written
from what the inventory call returned, never from what was asked.

Facts this engine keeps in `ConversationState.facts`: `shown` (ids of the cars last listed, so "quanto
custa?" and "quero testar" know which), `last_search` and `interest` (what the customer asked about,
for the person taking over).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TypeVar

import msgspec
import psycopg

from zapq.conversation.answer import Answer
from zapq.conversation.booking_changes import BookingChanges, active_booking_lines
from zapq.conversation.dealership import Dealership, default_dealership
from zapq.conversation.dealership_answers import financing_answer, find_down_payment, store_answer
from zapq.conversation.engine import (
    BookingChangeDraft,
    BookTestDrive,
    ConversationState,
    EngineReply,
    Handoff,
    OptIn,
    OptOut,
    TestDriveDraft,
    TradeInDraft,
    with_turns,
)
from zapq.conversation.formatting import fit, vehicle_line, vehicle_name
from zapq.conversation.inventory import InventoryLookup
from zapq.conversation.reading import BatchReading, MenuChoice, VehicleQuery, read_batch, readable_lines
from zapq.conversation.stock_answers import NEXT_STEP_BUTTONS, StockAnswers, note_interest
from zapq.conversation.trade_in import describe_trade_in, fill_trade_in, next_trade_in_question
from zapq.conversation.vague_requests import MeaningSearch, compares_with_a_car, describes_a_need
from zapq.conversation.when import SAO_PAULO, describe_day, describe_slot, find_time, local_now, slot_problem
from zapq.whatsapp.client import MAX_BUTTONS_BODY, MAX_TEXT_BODY
from zapq.whatsapp.events import InboundMessage, MessageKind

__all__ = [
    "HANDOFF_REASON",
    "HANDOFF_TEXT",
    "RuleBasedEngine",
    "handoff_summary",
    "note_interest",
    "opt_out_reply",
]

_Draft = TypeVar("_Draft", TestDriveDraft, BookingChangeDraft, TradeInDraft)

logger = logging.getLogger(__name__)

MAX_GREETING_NAME = 30  # a profile name may be 256 characters of anything
HANDOFF_REASON = "customer_request"
TRADE_IN_REASON = "trade_in"

MENU_BUTTONS: list[tuple[str, str]] = [(MenuChoice.SEE_CARS, "Ver carros"), *NEXT_STEP_BUTTONS]

OPT_OUT_TEXT = (
    "Pronto, você não vai mais receber mensagens nossas. Se quiser voltar a conversar, é só mandar um oi."
)
OPT_IN_TEXT = (
    "Que bom ter você de volta! Você voltou a receber nossas mensagens (se quiser parar, é só mandar PARAR)."
)
HANDOFF_TEXT = "Claro! Um atendente vai falar com você em breve."
THANKS_TEXT = "Por nada! Se precisar de mais alguma coisa, é só chamar."
DRAFT_DROPPED_TEXT = (
    "Tudo bem, deixei o agendamento de lado: nenhum test drive foi marcado. Se quiser marcar, é só falar."
)
CHANGE_DROPPED_TEXT = "Tudo bem, não mudei nada: seu test drive continua como estava."
TRADE_IN_DROPPED_TEXT = "Tudo bem, deixei a avaliação do seu carro de lado. Se mudar de ideia, é só falar."
INTRO_TEXT = (
    "Sou o assistente virtual da loja. Posso te mostrar os carros do estoque, passar preços"
    " e agendar um test drive. Como posso ajudar?"
)
MENU_TEXT = (
    "Não entendi muito bem, desculpe. Posso te ajudar com:\n"
    '• carros do estoque (ex.: "tem HB20?" ou "SUV automático até 120 mil")\n'
    "• preços e simulação de financiamento\n"
    "• agendar, remarcar ou cancelar um test drive\n"
    "• avaliar seu carro na troca\n"
    "• endereço e horário da loja\n"
    "• falar com um atendente"
)
MEDIA_TEXTS: dict[MessageKind, str] = {
    "image": "Recebi sua foto!",
    "sticker": "Adorei a figurinha!",
    "audio": "Recebi seu áudio, mas por aqui ainda não consigo ouvir áudios. Pode me escrever sua dúvida?",
    "video": "Recebi seu vídeo!",
    "document": "Recebi seu documento! Vou deixar anotado para o nosso time.",
    "location": "Obrigado por mandar sua localização!",
    "contacts": "Recebi o contato, obrigado!",
    "unsupported": "Não consegui abrir esse tipo de mensagem. Pode me escrever em texto?",
}
MEDIA_THAT_ASK_FOR_TEXT: frozenset[MessageKind] = frozenset({"audio", "unsupported"})
MEDIA_HINT = "Em que posso ajudar? Posso mostrar carros, passar preços ou agendar um test drive."
SALUTATIONS = {"bom dia": "Bom dia", "boa tarde": "Boa tarde", "boa noite": "Boa noite"}


class RuleBasedEngine:
    """`ConversationEngine` from keyword rules, `inventory` and `dealership`; books and changes test drives"""

    def __init__(
        self,
        inventory: InventoryLookup,
        dealership: Dealership | None = None,
        semantic: MeaningSearch | None = None,
    ) -> None:
        self.inventory = inventory
        self.semantic = semantic
        self.dealership = dealership or default_dealership()
        self.stock = StockAnswers(inventory)
        self.bookings = BookingChanges(inventory, self.dealership.opening_hours)

    def reply(self, state: ConversationState, batch: list[InboundMessage]) -> EngineReply:
        if not batch or all(message.kind == "reaction" for message in batch):
            return EngineReply(text="", state=state)
        now = local_now(batch[-1].sent_at)
        reading = read_batch(batch, self.inventory.models(), now.date())
        if reading.opt_out:
            return opt_out_reply(state, batch)
        answer = Answer(
            facts=dict(state.facts),
            draft=_copy(state.pending_test_drive),
            booking_change=_copy(state.booking_change),
            trade_in=_copy(state.trade_in),
        )
        opening = greeting_text(state.profile_name, reading)
        if opening:
            answer.parts.append(opening)
        if state.opted_out:
            answer.parts.append(OPT_IN_TEXT)
            answer.actions.append(OptIn())
        answer.parts.extend(MEDIA_TEXTS[kind] for kind in reading.media_kinds)
        if not self._answer_request(state, batch, reading, now, answer):
            self._answer_small_talk(reading, opening, answer)
        # Meta refuses a body over its limit, and a refused reply leaves the customer with none.
        text = fit("\n\n".join(answer.parts), MAX_BUTTONS_BODY if answer.buttons else MAX_TEXT_BODY)
        new_state = with_turns(
            state, batch, text, pending_test_drive=answer.draft, facts=answer.facts,
            booking_change=answer.booking_change, trade_in=answer.trade_in, opted_out=False,
        )  # fmt: skip
        return EngineReply(
            text=text, actions=answer.actions, state=new_state, buttons=answer.buttons, intent=answer.intent
        )

    def _answer_request(
        self,
        state: ConversationState,
        batch: list[InboundMessage],
        reading: BatchReading,
        now: dt.datetime,
        answer: Answer,
    ) -> bool:
        """Answer the main request, if the burst makes one; False when there is none."""
        if reading.wants_human:
            answer.intent = "handoff"
            note_interest(answer.facts, reading.queries)
            summary = handoff_summary(
                state, batch, answer.facts, inventory=self.inventory, trade_in=answer.trade_in
            )
            answer.actions.append(Handoff(reason=HANDOFF_REASON, summary=summary))
            answer.say(HANDOFF_TEXT, "handoff")
            return True
        if self._answer_booking_change(state.wa_id, reading, now, answer):
            return True
        if answer.draft is not None and reading.cancels and not reading.days:
            answer.draft = None
            answer.say(DRAFT_DROPPED_TEXT, "test_drive")
            return True
        if self._answer_trade_in(state, batch, reading, answer):
            return True
        if compares_with_a_car(reading.text) and self._described(batch, answer):
            return True  # "algo parecido com o Compass": the Compass is the reference, not the answer
        asks_something_else = (
            reading.asks_price or reading.wants_listing or reading.asks_about_the_store
            or reading.asks_financing or reading.order is not None or self._comparison(reading) is not None
        )  # fmt: skip
        if reading.asks_about_the_store:
            answer.say(store_answer(self.dealership, reading, now.date()), "facts")
        elif reading.asks_financing:
            self._answer_financing(reading, answer)
        elif (models := self._comparison(reading)) is not None:
            self.stock.comparison_answer(models, answer)
        elif reading.wants_test_drive or (answer.draft is not None and not asks_something_else):
            self._continue_test_drive(state.wa_id, reading, now, answer)
            return True
        elif reading.order is not None:
            self.stock.extreme_answer(reading, answer)
        elif reading.asks_price:
            self.stock.price_answer(reading, answer)
        elif reading.queries or reading.wants_listing:
            self.stock.search_answer(reading, answer)
        elif not (describes_a_need(reading.text) and self._described(batch, answer)):
            return False
        if answer.draft is not None:
            answer.parts.append(self._next_question(answer.draft, answer)[0])
        return True

    def _answer_booking_change(
        self, wa_id: str, reading: BatchReading, now: dt.datetime, answer: Answer
    ) -> bool:
        """Reschedule or cancel a booked test drive, or carry on with one asked earlier."""
        change = answer.booking_change
        if change is not None:
            if reading.cancels and not reading.cancels_booking:
                answer.booking_change = None
                answer.say(CHANGE_DROPPED_TEXT, change.action)
                return True
            picks = reading.ordinal is not None or any(query.model for query in reading.queries)
            continues = (
                reading.days or reading.time
                or (change.awaiting == "booking" and picks)
                or (change.awaiting == "slot" and find_time(reading.text, bare_hour=True) is not None)
            )  # fmt: skip
            if not (continues or reading.wants_reschedule or reading.cancels_booking):
                answer.booking_change = None  # the customer moved on to something else
        wants_cancel = reading.cancels_booking or (reading.cancels and reading.mentions_test_drive)
        if reading.wants_reschedule and (answer.draft is None or self.inventory.active_test_drives(wa_id)):
            self.bookings.continue_change(wa_id, "reschedule", reading, now, answer)
        elif wants_cancel and not (answer.draft is not None and not reading.days):
            self.bookings.continue_change(wa_id, "cancel", reading, now, answer)
        elif answer.booking_change is not None:
            self.bookings.continue_change(wa_id, answer.booking_change.action, reading, now, answer)
        else:
            return False
        return True

    def _answer_trade_in(
        self, state: ConversationState, batch: list[InboundMessage], reading: BatchReading, answer: Answer
    ) -> bool:
        """Collect the customer's car (model, year, km), then hand off to a person who values it."""
        draft = answer.trade_in
        if draft is not None and reading.cancels:
            answer.trade_in = None
            answer.say(TRADE_IN_DROPPED_TEXT, "trade_in")
            return True
        starting = reading.offers_trade_in
        if not starting and draft is None:
            return False
        asks_something_else = (
            reading.asks_price or reading.wants_listing or reading.asks_about_the_store
            or reading.asks_financing or reading.order is not None or reading.wants_test_drive
        )  # fmt: skip
        if not starting and asks_something_else:
            return False  # a question about something else; the draft waits for its answer
        typed = "\n".join(message.text or "" for message in batch if readable_lines([message]))
        filled = fill_trade_in(draft, reading, typed)
        question = next_trade_in_question(filled)
        opener = "Aceitamos sim seu carro na troca!" if starting and draft is None else "Anotado!"
        known = describe_trade_in(filled) if filled.model or filled.make else ""
        if question is not None:
            answer.trade_in = filled
            noted = f" Anotei: {known}." if known and starting else ""
            if starting and draft is None:
                question = f"Para um consultor avaliar, me conta: {question[0].lower()}{question[1:]}"
            answer.say(f"{opener}{noted} {question}", "trade_in")
            return True
        answer.trade_in = None
        summary = handoff_summary(state, batch, answer.facts, inventory=self.inventory, trade_in=filled)
        answer.actions.append(Handoff(reason=TRADE_IN_REASON, summary=summary))
        answer.say(
            f"Anotei: {known}. Um consultor vai avaliar seu carro e falar com você em breve com a proposta.",
            "trade_in",
        )
        return True

    def _answer_financing(self, reading: BatchReading, answer: Answer) -> None:
        vehicle = None
        if reading.queries:
            note_interest(answer.facts, reading.queries)
            found, _ = self.stock.search(reading.queries)
            vehicle = found[0] if found else None
        else:
            shown = self.stock.shown_vehicles(answer.facts)
            if len(shown) > 1:
                answer.say(
                    "Para qual carro você quer a simulação de financiamento?\n"
                    + "\n".join(vehicle_line(vehicle) for vehicle in shown),
                    "financing",
                )
                answer.buttons = [NEXT_STEP_BUTTONS[1]]
                return
            vehicle = shown[0] if shown else None
        if vehicle is not None:
            answer.facts["shown"] = str(vehicle.id)
        answer.say(financing_answer(self.dealership, vehicle, find_down_payment(reading.text)), "financing")
        answer.buttons = [NEXT_STEP_BUTTONS[1]]

    def _described(self, batch: list[InboundMessage], answer: Answer) -> bool:
        """Answer a described need by meaning; False without semantic search or when it fails.

        A failing embeddings provider costs the customer the nuance, not the reply (they get the menu);
        PostgreSQL down is an outage like any other, retried.
        """
        if self.semantic is None:
            return False
        typed = "\n".join(message.text or "" for message in batch if readable_lines([message]))
        try:
            return self.stock.described_answer(self.semantic, typed, answer)
        except psycopg.Error:
            raise
        except Exception as error:
            logger.warning("semantic search failed, answering with the menu: %s", error)
            return False

    def _comparison(self, reading: BatchReading) -> list[VehicleQuery] | None:
        """The models to compare ("a diferença entre o HR-V e o Compass"); None when not a comparison."""
        models = [query for query in reading.queries if query.model]
        return models if reading.wants_comparison and len(models) >= 2 else None

    def _answer_small_talk(self, reading: BatchReading, opening: str | None, answer: Answer) -> None:
        if reading.thanks:
            answer.say(THANKS_TEXT, "small_talk")
        elif reading.media_kinds:
            answer.intent = "media"
            if not MEDIA_THAT_ASK_FOR_TEXT.intersection(reading.media_kinds):
                answer.parts.append(MEDIA_HINT)
                answer.buttons = list(MENU_BUTTONS)
        elif opening:
            answer.say(INTRO_TEXT, "small_talk")
            answer.buttons = list(MENU_BUTTONS)
        else:
            answer.say(MENU_TEXT, "menu")
            answer.buttons = list(MENU_BUTTONS)

    def _continue_test_drive(
        self, wa_id: str, reading: BatchReading, now: dt.datetime, answer: Answer
    ) -> None:
        """Fill what this burst gives (car, day, time); book when all are known, else ask for the next."""
        answer.intent = "test_drive"
        hours = self.dealership.opening_hours
        draft = answer.draft or TestDriveDraft()
        if reading.queries:
            note_interest(answer.facts, reading.queries)
            found, missing = self.stock.search(reading.queries)
            if not found:
                answer.draft = msgspec.structs.replace(
                    draft, day=reading.day or draft.day, time=reading.time or draft.time, awaiting="vehicle"
                )
                self.stock.say_not_found(missing[0], answer, question="Quer testar um destes?")
                return
            draft.vehicle_id, draft.any_vehicle = found[0].id, False
        elif draft.vehicle_id is None and not draft.any_vehicle:
            if draft.awaiting == "vehicle":
                draft.any_vehicle = True  # answered without naming a car: they will choose at the store
            else:
                shown = self.stock.shown_vehicles(answer.facts)
                draft.vehicle_id = shown[0].id if len(shown) == 1 else None
        draft.day = reading.day or draft.day
        draft.time = reading.time or draft.time
        if reading.time is None and draft.awaiting == "time":
            draft.time = find_time(reading.text, bare_hour=True) or draft.time
        problem = None
        if draft.day is not None and draft.day < now.date():
            problem, draft.day = "Esse dia já passou.", None
        elif draft.day is not None and hours.on(draft.day) is None:
            problem, draft.day = "Nesse dia a loja não abre.", None
        elif draft.day is not None and draft.time is not None:
            starts_at = dt.datetime.combine(draft.day, draft.time, tzinfo=SAO_PAULO)
            problem = slot_problem(starts_at, now, hours)
            if problem is None:
                self._book(wa_id, draft.vehicle_id, starts_at, answer)
                return
            draft.time = None
        question, awaiting = self._next_question(draft, answer)
        answer.draft = msgspec.structs.replace(draft, awaiting=awaiting)
        answer.parts.append(f"{problem} {question}" if problem else question)

    def _next_question(self, draft: TestDriveDraft, answer: Answer) -> tuple[str, str]:
        """The question for the first missing slot, and that slot's name."""
        hours = self.dealership.opening_hours
        if draft.vehicle_id is None and not draft.any_vehicle:
            shown = self.stock.shown_vehicles(answer.facts)
            options = "".join(f"\n{vehicle_line(vehicle)}" for vehicle in shown)
            return (
                f"Qual carro você quer testar?{options}\n\nSe ainda não decidiu, tudo bem:"
                " me diga o dia e escolhemos juntos na loja.",
                "vehicle",
            )
        vehicle = self.inventory.get(draft.vehicle_id) if draft.vehicle_id is not None else None
        car = f" do {vehicle_name(vehicle)}" if vehicle else ""
        if draft.day is None:
            return (
                f"Vamos agendar o seu test drive{car}! Qual dia fica bom para você?"
                f" Atendemos {hours.describe()}.",
                "day",
            )
        return (
            f"E qual horário para {describe_day(draft.day)}?"
            f" Nesse dia atendemos {hours.describe_day(draft.day)}.",
            "time",
        )

    def _book(self, wa_id: str, vehicle_id: int | None, starts_at: dt.datetime, answer: Answer) -> None:
        self.inventory.book(wa_id, vehicle_id, starts_at)
        booked = next((b for b in self.inventory.active_test_drives(wa_id) if b.starts_at == starts_at), None)
        answer.draft = None
        if booked is None:  # never claim a booking the inventory does not hold
            answer.say("Não consegui agendar esse horário agora. Quer falar com um atendente?", "test_drive")
            answer.buttons = [NEXT_STEP_BUTTONS[1]]
            return
        answer.actions.append(BookTestDrive(vehicle_id=booked.vehicle_id, starts_at=booked.starts_at))
        vehicle = self.inventory.get(booked.vehicle_id) if booked.vehicle_id is not None else None
        slot = describe_slot(booked.starts_at)
        if vehicle:
            answer.say(
                f"Pronto! Seu test drive do {vehicle_name(vehicle)} está agendado para {slot}."
                " Te esperamos na loja! Se precisar remarcar, é só me avisar.",
                "test_drive",
            )
        else:
            answer.say(
                f"Pronto! Seu test drive está agendado para {slot}. Na loja você escolhe o carro"
                " com um dos nossos consultores. Se precisar remarcar, é só me avisar.",
                "test_drive",
            )


def opt_out_reply(state: ConversationState, batch: list[InboundMessage]) -> EngineReply:
    """The confirmation and the `OptOut` action; anything being drafted is dropped."""
    return EngineReply(
        text=OPT_OUT_TEXT,
        actions=[OptOut()],
        state=with_turns(
            state,
            batch,
            OPT_OUT_TEXT,
            pending_test_drive=None,
            booking_change=None,
            trade_in=None,
            opted_out=True,
        ),
        intent="opt_out",
    )


def greeting_text(profile_name: str | None, reading: BatchReading) -> str | None:
    """'Bom dia, Maria!' (echoing the customer's greeting), or None when they did not greet."""
    if not reading.greeting and not reading.asks_how_are_you:
        return None
    salutation = SALUTATIONS.get(reading.greeting or "", "Olá")
    words = (profile_name or "").split()
    text = f"{salutation}, {fit(words[0], MAX_GREETING_NAME)}!" if words else f"{salutation}!"
    if reading.asks_how_are_you:
        text += " Tudo ótimo por aqui, obrigado por perguntar."
    return text


def handoff_summary(
    state: ConversationState,
    batch: list[InboundMessage],
    facts: dict[str, str],
    *,
    inventory: InventoryLookup | None = None,
    trade_in: TradeInDraft | None = None,
) -> str:
    """A few lines for the person taking over: who, which cars, every active test drive (as `inventory`
    holds them), the car offered in part-exchange, the last messages."""
    who = f"{state.profile_name} ({state.wa_id})" if state.profile_name else state.wa_id
    complete = trade_in is not None and trade_in.awaiting is None
    lines = [
        f"{who} quer avaliar um carro na troca." if complete else f"{who} pediu para falar com um atendente."
    ]
    if trade_in is not None:
        lines.append(f"Carro para troca: {describe_trade_in(trade_in)}.")
    if facts.get("interest"):
        lines.append(f"Interesse: {facts['interest']}.")
    bookings = active_booking_lines(inventory, state.wa_id) if inventory is not None else []
    if bookings:
        lines.append("Test drives agendados: " + "; ".join(bookings) + ".")
    if state.pending_test_drive is not None:
        lines.append("Estava agendando um test drive.")
    earlier = [turn.text for turn in state.history if turn.role == "customer"]
    recent = [*earlier, *(message.text or "" for message in batch if readable_lines([message]))][-3:]
    lines.append("Últimas mensagens: " + " | ".join(f'"{_shorten(text)}"' for text in recent))
    return "\n".join(lines)


def _shorten(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _copy(draft: _Draft | None) -> _Draft | None:
    return msgspec.structs.replace(draft) if draft is not None else None
