"""An engine that asks an OpenAI-compatible chat model, and falls back to another when it can't.

The model writes free-form answers from the inventory lines it is given. What must not
depend on a model is decided before or after calling it:

- PARAR/SAIR/STOP opts out without calling the model;
- a burst that books a test drive (or continues one) goes to `fallback`, which writes the row;
- a request for a person becomes a `Handoff` even when the model misses it.

Any failure (timeout, transport error, non-2xx, malformed or empty answer) is counted in
`zapq_llm_fallbacks_total{reason}` and answered by `fallback`, so the customer always
gets a reply.
"""

from __future__ import annotations

import datetime as dt
import logging

import httpx
import msgspec

from zapq import metrics
from zapq.conversation.dealership import Dealership
from zapq.conversation.engine import (
    Action,
    ConversationEngine,
    ConversationState,
    EngineReply,
    Handoff,
    OptOut,
    with_turns,
)
from zapq.conversation.formatting import format_brl, vehicle_name
from zapq.conversation.inventory import InventoryLookup
from zapq.conversation.reading import CAPTIONED_KINDS, BatchReading, read_batch
from zapq.conversation.rules import (
    HANDOFF_REASON,
    HANDOFF_TEXT,
    handoff_summary,
    note_interest,
    opt_out_reply,
)
from zapq.conversation.vehicle import Vehicle
from zapq.conversation.when import local_now
from zapq.whatsapp.events import InboundMessage, MessageKind

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 15.0
MAX_FACT_VEHICLES = 8
TEMPERATURE = 0.3

SYSTEM_PROMPT = """\
Você é o assistente virtual de uma concessionária de carros no Brasil e conversa com clientes pelo WhatsApp.
Responda sempre em português do Brasil, com simpatia e poucas palavras: no máximo três frases curtas, \
ou uma lista curta de carros.
Fale somente dos carros listados em "Estoque". Nunca invente carros, versões, preços, cores ou \
condições que não estejam lá. Se o cliente pedir um carro que não está na lista, diga que não temos \
no momento e sugira os da lista.
Preços no formato R$ 139.990,00.
Se o cliente pedir para falar com uma pessoa, ou se você não souber ajudar, marque "handoff": true \
e diga que um atendente vai falar com ele em breve.
Se o cliente pedir para não receber mais mensagens, marque "opt_out": true.
Responda apenas com um objeto JSON: \
{"reply": string, "handoff": boolean, "handoff_reason": string ou null, "opt_out": boolean}."""

MEDIA_PLACEHOLDERS: dict[MessageKind, str] = {
    "image": "[foto]",
    "sticker": "[figurinha]",
    "audio": "[áudio]",
    "video": "[vídeo]",
    "document": "[documento]",
    "location": "[localização]",
    "contacts": "[contato]",
    "unsupported": "[mensagem não suportada]",
}


class ModelAnswer(msgspec.Struct, frozen=True):
    """The JSON object the model is asked to answer with."""

    reply: str
    handoff: bool = False
    handoff_reason: str | None = None
    opt_out: bool = False


class _Message(msgspec.Struct, frozen=True):
    content: str | None = None


class _Choice(msgspec.Struct, frozen=True):
    message: _Message


class _ChatCompletion(msgspec.Struct, frozen=True):
    choices: list[_Choice]


class ModelFailure(Exception):
    """The model gave no usable answer; `reason` is the metric label."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


class LLMEngine:
    """`ConversationEngine` backed by `POST {base_url}/chat/completions`.

    `http` is a client to reuse (its own timeout is overridden by `timeout_s`); when None,
    the engine makes one and `close()` closes it.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        model: str,
        inventory: InventoryLookup,
        dealership: Dealership,
        fallback: ConversationEngine,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        http: httpx.Client | None = None,
    ) -> None:
        self.completions_url = base_url.rstrip("/") + "/chat/completions"
        self.api_key = api_key
        self.model = model
        self.inventory = inventory
        self.dealership = dealership
        self.fallback = fallback
        self.timeout_s = timeout_s
        self._owns_http = http is None
        self.http = http or httpx.Client()

    def close(self) -> None:
        if self._owns_http:
            self.http.close()

    def reply(self, state: ConversationState, batch: list[InboundMessage]) -> EngineReply:
        if not batch or all(message.kind == "reaction" for message in batch):
            return EngineReply(text="", state=state)
        now = local_now(batch[-1].sent_at)
        reading = read_batch(batch, self.inventory.models(), now.date())
        if reading.opt_out:
            return opt_out_reply(state, batch)
        if reading.wants_test_drive or state.pending_test_drive is not None:
            return self.fallback.reply(state, batch)
        facts = dict(state.facts)
        note_interest(facts, reading.queries)
        vehicles = self._relevant_vehicles(reading)
        try:
            answer = self._ask(state, batch, vehicles, now)
        except ModelFailure as failure:
            logger.warning("LLM answer unusable, replying with the fallback engine: %s", failure)
            metrics.llm_fallbacks().labels(failure.reason).inc()
            return self.fallback.reply(state, batch)
        actions: list[Action] = []
        if answer.opt_out:
            actions.append(OptOut())
        text = answer.reply.strip()
        if answer.handoff or reading.wants_human:
            reason = answer.handoff_reason or HANDOFF_REASON
            actions.append(Handoff(reason=reason, summary=handoff_summary(state, batch, facts)))
            if not answer.handoff:
                text += f"\n\n{HANDOFF_TEXT}"
        return EngineReply(text=text, actions=actions, state=with_turns(state, batch, text, facts=facts))

    def _relevant_vehicles(self, reading: BatchReading) -> list[Vehicle]:
        """Cars matching what the burst mentions; the cheapest in stock when it mentions none."""
        vehicles: list[Vehicle] = []
        for query in reading.queries:
            matches = self.inventory.search(**msgspec.structs.asdict(query), limit=MAX_FACT_VEHICLES)
            vehicles.extend(vehicle for vehicle in matches if vehicle not in vehicles)
        if len(vehicles) < MAX_FACT_VEHICLES:
            others = self.inventory.search(limit=MAX_FACT_VEHICLES)
            vehicles.extend(vehicle for vehicle in others if vehicle not in vehicles)
        return vehicles[:MAX_FACT_VEHICLES]

    def _ask(
        self, state: ConversationState, batch: list[InboundMessage], vehicles: list[Vehicle], now: dt.datetime
    ) -> ModelAnswer:
        body = {
            "model": self.model,
            "messages": chat_messages(state, batch, vehicles, now),
            "response_format": {"type": "json_object"},
            "temperature": TEMPERATURE,
        }
        try:
            response = self.http.post(
                self.completions_url,
                content=msgspec.json.encode(body),
                headers={"authorization": f"Bearer {self.api_key}", "content-type": "application/json"},
                timeout=self.timeout_s,
            )
        except httpx.TimeoutException as error:
            raise ModelFailure("timeout", repr(error)) from error
        except httpx.HTTPError as error:
            raise ModelFailure("transport", repr(error)) from error
        if not response.is_success:
            raise ModelFailure("http_status", f"{response.status_code} {response.text[:200]}")
        try:
            completion = msgspec.json.decode(response.content, type=_ChatCompletion)
            content = completion.choices[0].message.content if completion.choices else None
            answer = msgspec.json.decode(content or "", type=ModelAnswer)
        except (msgspec.DecodeError, msgspec.ValidationError) as error:
            raise ModelFailure("malformed", str(error)) from error
        if not answer.reply.strip():
            raise ModelFailure("empty", "the model answered with an empty reply")
        return answer


def chat_messages(
    state: ConversationState, batch: list[InboundMessage], vehicles: list[Vehicle], now: dt.datetime
) -> list[dict[str, str]]:
    """System prompt, inventory facts, the stored history, then the burst as one user message."""
    stock = "\n".join(inventory_line(vehicle) for vehicle in vehicles) or "(nenhum carro disponível)"
    context = [f"Agora: {now:%d/%m/%Y %H:%M} (horário de Brasília)."]
    if state.profile_name:
        context.append(f"Nome do cliente no WhatsApp: {state.profile_name}.")
    messages = [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "system", "content": " ".join(context) + f"\nEstoque:\n{stock}"},
    ]
    for turn in state.history:
        messages.append({"role": "user" if turn.role == "customer" else "assistant", "content": turn.text})
    messages.append({"role": "user", "content": "\n".join(burst_lines(batch))})
    return messages


def inventory_line(vehicle: Vehicle) -> str:
    """'#1 Toyota Corolla XEi 2.0 2024, sedan, prata, R$ 139.990,00'."""
    price = format_brl(vehicle.price)
    return f"#{vehicle.id} {vehicle_name(vehicle)}, {vehicle.body_type}, {vehicle.colour}, {price}"


def burst_lines(batch: list[InboundMessage]) -> list[str]:
    """Each message as the model should read it: text, or a placeholder with any caption."""
    lines = []
    for message in batch:
        if message.kind == "reaction":
            continue
        placeholder = MEDIA_PLACEHOLDERS.get(message.kind)
        if placeholder and message.kind not in CAPTIONED_KINDS:
            lines.append(placeholder)
        else:
            lines.append(" ".join(part for part in (placeholder, message.text) if part))
    return lines
