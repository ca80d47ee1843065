"""The default engine: PT-BR answers from keyword rules and the inventory, with no network.

One reply per burst, built in a fixed order: a greeting when the customer greeted, a word
on any media they sent, then the answer to the main request (handoff, test-drive booking,
price, search, in that priority), or the menu when nothing was understood.

A batch of reactions only gets an empty reply, meaning "send nothing", and the state comes
back unchanged: a thumbs-up is not a question.

Facts this engine keeps in `ConversationState.facts`:
`shown` (ids of the cars last listed, so "quanto custa?" and "quero testar" know which),
`last_search`, `interest` (what the customer asked about, for the person taking over) and
`test_drive` (the booked slot).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import msgspec

from zapq.conversation.engine import (
    Action,
    BookTestDrive,
    ConversationState,
    EngineReply,
    Handoff,
    OptOut,
    TestDriveDraft,
    with_turns,
)
from zapq.conversation.formatting import fit, format_brl, vehicle_line, vehicle_name
from zapq.conversation.inventory import InventoryLookup
from zapq.conversation.reading import BatchReading, MenuChoice, VehicleQuery, read_batch, readable_lines
from zapq.conversation.vehicle import Vehicle
from zapq.conversation.when import (
    OPENING_HOURS_TEXT,
    SAO_PAULO,
    day_is_open,
    describe_day,
    describe_opening_hours,
    describe_slot,
    find_time,
    local_now,
    slot_problem,
)
from zapq.whatsapp.client import MAX_BUTTONS_BODY, MAX_TEXT_BODY
from zapq.whatsapp.events import InboundMessage, MessageKind

MAX_LISTED = 3
MAX_INTERESTS = 4
MAX_GREETING_NAME = 30  # a profile name may be 256 characters of anything
HANDOFF_REASON = "customer_request"

MENU_BUTTONS: list[tuple[str, str]] = [
    (MenuChoice.SEE_CARS, "Ver carros"),
    (MenuChoice.BOOK_TEST_DRIVE, "Agendar test drive"),
    (MenuChoice.TALK_TO_PERSON, "Falar com atendente"),
]
NEXT_STEP_BUTTONS = MENU_BUTTONS[1:]

OPT_OUT_TEXT = (
    "Pronto, você não vai mais receber mensagens nossas. Se quiser voltar a conversar, é só mandar um oi."
)
HANDOFF_TEXT = "Claro! Um atendente vai falar com você em breve."
EMPTY_STOCK_TEXT = "No momento estamos sem carros disponíveis. Quer que um atendente fale com você?"
THANKS_TEXT = "Por nada! Se precisar de mais alguma coisa, é só chamar."
CANCELLED_TEXT = "Tudo bem, cancelei o agendamento do test drive. Se quiser marcar outro dia, é só falar."
INTRO_TEXT = (
    "Sou o assistente virtual da loja. Posso te mostrar os carros do estoque, passar preços"
    " e agendar um test drive. Como posso ajudar?"
)
MENU_TEXT = (
    "Não entendi muito bem, desculpe. Posso te ajudar com:\n"
    '• carros do estoque (ex.: "tem HB20?" ou "SUV até 120 mil")\n'
    "• preços\n"
    "• agendar um test drive\n"
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


@dataclass
class _Answer:
    """The reply being assembled for one burst."""

    facts: dict[str, str]
    draft: TestDriveDraft | None
    parts: list[str] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    buttons: list[tuple[str, str]] = field(default_factory=list)
    intent: str = ""  # what the reply answers, for the logs


class RuleBasedEngine:
    """`ConversationEngine` from keyword rules and `inventory`; books test drives through it."""

    def __init__(self, inventory: InventoryLookup) -> None:
        self.inventory = inventory

    def reply(self, state: ConversationState, batch: list[InboundMessage]) -> EngineReply:
        if not batch or all(message.kind == "reaction" for message in batch):
            return EngineReply(text="", state=state)
        now = local_now(batch[-1].sent_at)
        reading = read_batch(batch, self.inventory.models(), now.date())
        if reading.opt_out:
            return opt_out_reply(state, batch)
        draft = msgspec.structs.replace(state.pending_test_drive) if state.pending_test_drive else None
        answer = _Answer(facts=dict(state.facts), draft=draft)
        opening = greeting_text(state.profile_name, reading)
        if opening:
            answer.parts.append(opening)
        answer.parts.extend(MEDIA_TEXTS[kind] for kind in reading.media_kinds)
        if not self._answer_request(state, batch, reading, now, answer):
            self._answer_small_talk(reading, opening, answer)
        # Meta refuses a body over its limit, and a refused reply leaves the customer with none.
        text = fit("\n\n".join(answer.parts), MAX_BUTTONS_BODY if answer.buttons else MAX_TEXT_BODY)
        return EngineReply(
            text=text,
            actions=answer.actions,
            state=with_turns(state, batch, text, pending_test_drive=answer.draft, facts=answer.facts),
            buttons=answer.buttons,
            intent=answer.intent,
        )

    def _answer_request(
        self,
        state: ConversationState,
        batch: list[InboundMessage],
        reading: BatchReading,
        now: dt.datetime,
        answer: _Answer,
    ) -> bool:
        """Answer the main request, if the burst makes one; False when there is none."""
        if reading.wants_human:
            answer.intent = "handoff"
            note_interest(answer.facts, reading.queries)
            summary = handoff_summary(state, batch, answer.facts)
            answer.actions.append(Handoff(reason=HANDOFF_REASON, summary=summary))
            answer.parts.append(HANDOFF_TEXT)
            return True
        if answer.draft is not None and reading.cancels:
            answer.intent = "cancel_test_drive"
            answer.draft = None
            answer.parts.append(CANCELLED_TEXT)
            return True
        asks_something_else = reading.asks_price or reading.wants_listing
        if reading.wants_test_drive or (answer.draft is not None and not asks_something_else):
            answer.intent = "test_drive"
            self._continue_test_drive(state.wa_id, reading, now, answer)
            return True
        if reading.asks_price:
            answer.intent = "price"
            self._answer_price(reading, answer)
        elif reading.queries or reading.wants_listing:
            answer.intent = "search" if reading.queries else "listing"
            self._answer_search(reading, answer)
        else:
            return False
        if answer.draft is not None:
            answer.parts.append(self._next_question(answer.draft, answer)[0])
        return True

    def _answer_small_talk(self, reading: BatchReading, opening: str | None, answer: _Answer) -> None:
        answer.intent = "small_talk"
        if reading.thanks:
            answer.parts.append(THANKS_TEXT)
        elif reading.media_kinds:
            answer.intent = "media"
            if not MEDIA_THAT_ASK_FOR_TEXT.intersection(reading.media_kinds):
                answer.parts.append(MEDIA_HINT)
                answer.buttons = list(MENU_BUTTONS)
        elif opening:
            answer.parts.append(INTRO_TEXT)
            answer.buttons = list(MENU_BUTTONS)
        else:
            answer.intent = "menu"
            answer.parts.append(MENU_TEXT)
            answer.buttons = list(MENU_BUTTONS)

    def _answer_search(self, reading: BatchReading, answer: _Answer) -> None:
        if not reading.queries:
            vehicles = self.inventory.search(limit=MAX_LISTED)
            if not vehicles:
                answer.parts.append(EMPTY_STOCK_TEXT)
                answer.buttons = [MENU_BUTTONS[2]]
                return
            answer.facts["shown"] = _ids(vehicles)
            answer.parts.append(
                "Alguns carros disponíveis agora:\n"
                + "\n".join(vehicle_line(vehicle) for vehicle in vehicles)
                + "\n\nMe conta o modelo, a marca ou quanto quer investir"
                ' (ex.: "SUV até 120 mil") que eu procuro para você.'
            )
            answer.buttons = list(NEXT_STEP_BUTTONS)
            return
        note_interest(answer.facts, reading.queries)
        found, missing = self._search(reading.queries)
        if not found:
            self._say_not_found(missing[0], answer)
            return
        answer.facts["shown"] = _ids(found)
        opener = "Temos sim!" if any(query.model for query in reading.queries) else "Encontrei estas opções:"
        lines = "\n".join(vehicle_line(vehicle) for vehicle in found)
        lacking = "".join(f"\n\nNo momento não temos {query.describe()}." for query in missing)
        follow_up = (
            "Quer agendar um test drive ou saber mais de algum deles?"
            if len(found) > 1
            else ("Quer agendar um test drive?")
        )
        answer.parts.append(f"{opener}\n{lines}{lacking}\n\n{follow_up}")
        answer.buttons = list(NEXT_STEP_BUTTONS)

    def _answer_price(self, reading: BatchReading, answer: _Answer) -> None:
        if reading.queries:
            note_interest(answer.facts, reading.queries)
            found, missing = self._search(reading.queries)
            if not found:
                self._say_not_found(missing[0], answer)
                return
        else:
            found = self._shown_vehicles(answer.facts)
            if not found:
                answer.parts.append(
                    'De qual carro você quer saber o preço? Me diga o modelo (ex.: "quanto custa o Onix?").'
                )
                return
        answer.facts["shown"] = _ids(found)
        if len(found) == 1:
            vehicle = found[0]
            prices = f"O {vehicle_name(vehicle)} ({vehicle.colour}) está por {format_brl(vehicle.price)}."
        else:
            prices = "Os preços que temos:\n" + "\n".join(vehicle_line(vehicle) for vehicle in found)
        answer.parts.append(f"{prices}\n\nQuer agendar um test drive?")
        answer.buttons = list(NEXT_STEP_BUTTONS)

    def _continue_test_drive(
        self, wa_id: str, reading: BatchReading, now: dt.datetime, answer: _Answer
    ) -> None:
        """Fill what this burst gives (car, day, time); book when all are known, else ask for the next."""
        draft = answer.draft or TestDriveDraft()
        if reading.queries:
            note_interest(answer.facts, reading.queries)
            found, missing = self._search(reading.queries)
            if not found:
                answer.draft = msgspec.structs.replace(
                    draft, day=reading.day or draft.day, time=reading.time or draft.time, awaiting="vehicle"
                )
                self._say_not_found(missing[0], answer, question="Quer testar um destes?")
                return
            draft.vehicle_id, draft.any_vehicle = found[0].id, False
        elif draft.vehicle_id is None and not draft.any_vehicle:
            if draft.awaiting == "vehicle":
                draft.any_vehicle = True  # answered without naming a car: they will choose at the store
            else:
                shown = self._shown_vehicles(answer.facts)
                draft.vehicle_id = shown[0].id if len(shown) == 1 else None
        draft.day = reading.day or draft.day
        draft.time = reading.time or draft.time
        if reading.time is None and draft.awaiting == "time":
            draft.time = find_time(reading.text, bare_hour=True) or draft.time
        problem = None
        if draft.day is not None and draft.day < now.date():
            problem, draft.day = "Esse dia já passou.", None
        elif draft.day is not None and not day_is_open(draft.day):
            problem, draft.day = "Nesse dia a loja não abre.", None
        elif draft.day is not None and draft.time is not None:
            starts_at = dt.datetime.combine(draft.day, draft.time, tzinfo=SAO_PAULO)
            problem = slot_problem(starts_at, now)
            if problem is None:
                self._book(wa_id, draft.vehicle_id, starts_at, answer)
                return
            draft.time = None
        question, awaiting = self._next_question(draft, answer)
        answer.draft = msgspec.structs.replace(draft, awaiting=awaiting)
        answer.parts.append(f"{problem} {question}" if problem else question)

    def _next_question(self, draft: TestDriveDraft, answer: _Answer) -> tuple[str, str]:
        """The question for the first missing slot, and that slot's name."""
        if draft.vehicle_id is None and not draft.any_vehicle:
            shown = self._shown_vehicles(answer.facts)
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
                f" Atendemos {OPENING_HOURS_TEXT}.",
                "day",
            )
        return (
            f"E qual horário para {describe_day(draft.day)}?"
            f" Nesse dia atendemos {describe_opening_hours(draft.day)}.",
            "time",
        )

    def _book(self, wa_id: str, vehicle_id: int | None, starts_at: dt.datetime, answer: _Answer) -> None:
        self.inventory.book(wa_id, vehicle_id, starts_at)
        answer.actions.append(BookTestDrive(vehicle_id=vehicle_id, starts_at=starts_at))
        answer.draft = None
        vehicle = self.inventory.get(vehicle_id) if vehicle_id is not None else None
        slot = describe_slot(starts_at)
        if vehicle:
            answer.facts["test_drive"] = f"{slot} ({vehicle_name(vehicle)})"
            answer.parts.append(
                f"Pronto! Seu test drive do {vehicle_name(vehicle)} está agendado para {slot}."
                " Te esperamos na loja! Se precisar remarcar, é só me avisar."
            )
        else:
            answer.facts["test_drive"] = slot
            answer.parts.append(
                f"Pronto! Seu test drive está agendado para {slot}. Na loja você escolhe o carro"
                " com um dos nossos consultores. Se precisar remarcar, é só me avisar."
            )

    def _say_not_found(self, query: VehicleQuery, answer: _Answer, question: str = "") -> None:
        alternatives = self._alternatives(query)
        text = f"No momento não temos {query.describe()} disponível."
        if alternatives:
            answer.facts["shown"] = _ids(alternatives)
            lines = "\n".join(vehicle_line(vehicle) for vehicle in alternatives)
            text += (
                f" Mas posso te mostrar {'estas opções' if len(alternatives) > 1 else 'esta opção'}:\n{lines}"
            )
        default_question = "Alguma delas te interessa?" if len(alternatives) > 1 else "Te interessa?"
        answer.parts.append(f"{text}\n\n{question or default_question}")
        answer.buttons = list(NEXT_STEP_BUTTONS)

    def _search(self, queries: list[VehicleQuery]) -> tuple[list[Vehicle], list[VehicleQuery]]:
        """Up to MAX_LISTED cars matching any query, and the queries that matched nothing."""
        found: list[Vehicle] = []
        missing: list[VehicleQuery] = []
        for query in queries:
            matches = self.inventory.search(**msgspec.structs.asdict(query), limit=MAX_LISTED)
            if not matches:
                missing.append(query)
            found.extend(vehicle for vehicle in matches if vehicle not in found)
        return found[:MAX_LISTED], missing

    def _alternatives(self, query: VehicleQuery) -> list[Vehicle]:
        """The nearest thing we have: other years, then the same make, budget, body type, anything."""
        relaxed: list[VehicleQuery] = []
        if query.year and (query.model or query.make):
            relaxed.append(msgspec.structs.replace(query, year=None))
        if query.model and query.make:
            relaxed.append(VehicleQuery(make=query.make))
        if query.max_price is not None:
            relaxed.append(VehicleQuery(max_price=query.max_price))
        if query.body_type:
            relaxed.append(VehicleQuery(body_type=query.body_type))
        relaxed.append(VehicleQuery())
        for candidate in relaxed:
            if vehicles := self.inventory.search(**msgspec.structs.asdict(candidate), limit=MAX_LISTED):
                return vehicles
        return []

    def _shown_vehicles(self, facts: dict[str, str]) -> list[Vehicle]:
        """The cars last listed that are still available: what "quanto custa?" refers to."""
        vehicles = []
        for text in facts.get("shown", "").split(","):
            vehicle = self.inventory.get(int(text)) if text.isdigit() else None
            if vehicle is not None and vehicle.status == "available":
                vehicles.append(vehicle)
        return vehicles


def opt_out_reply(state: ConversationState, batch: list[InboundMessage]) -> EngineReply:
    """The confirmation and the `OptOut` action; any test drive being booked is dropped."""
    return EngineReply(
        text=OPT_OUT_TEXT,
        actions=[OptOut()],
        state=with_turns(state, batch, OPT_OUT_TEXT, pending_test_drive=None),
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


def note_interest(facts: dict[str, str], queries: list[VehicleQuery]) -> None:
    """Remember what the customer asked about (most recent last), for follow-ups and handoffs."""
    if not queries:
        return
    asked = [query.describe() for query in queries]
    earlier = [item for item in facts.get("interest", "").split("; ") if item and item not in asked]
    facts["interest"] = "; ".join([*earlier, *asked][-MAX_INTERESTS:])
    facts["last_search"] = asked[-1]


def handoff_summary(state: ConversationState, batch: list[InboundMessage], facts: dict[str, str]) -> str:
    """A few lines for the person taking over: who, which cars, test drive, last messages."""
    who = f"{state.profile_name} ({state.wa_id})" if state.profile_name else state.wa_id
    lines = [f"{who} pediu para falar com um atendente."]
    if facts.get("interest"):
        lines.append(f"Interesse: {facts['interest']}.")
    if facts.get("test_drive"):
        lines.append(f"Test drive agendado: {facts['test_drive']}.")
    elif state.pending_test_drive is not None:
        lines.append("Estava agendando um test drive.")
    earlier = [turn.text for turn in state.history if turn.role == "customer"]
    recent = [*earlier, *(message.text or "" for message in batch if readable_lines([message]))][-3:]
    lines.append("Últimas mensagens: " + " | ".join(f'"{_shorten(text)}"' for text in recent))
    return "\n".join(lines)


def _shorten(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _ids(vehicles: list[Vehicle]) -> str:
    return ",".join(str(vehicle.id) for vehicle in vehicles)
