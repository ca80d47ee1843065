"""An engine that asks an OpenAI-compatible chat model with tools, and falls back to another when it can't.

Per burst the engine runs a bounded tool loop (at most `MAX_MODEL_CALLS` calls): the model calls
the tools of `llm_tools` (search the stock, book, move or cancel a test drive, simulate financing,
hand off, opt out), the engine runs them and answers with their results, until the model writes
its reply. What must not depend on a model is decided around it:

- PARAR/SAIR/STOP opts out without calling the model;
- the database changes only through the tools, which check every argument (a slot must be in the
  future and inside the opening hours, a car must exist, a booking must be the customer's);
- a reply claiming a booking, move or cancellation that no tool made this burst is sent back to the
  model once with a correction; a second unbacked claim is a failure (`llm_claims`);
- a request for a person becomes a `Handoff` even when the model misses it; the summary lists the
  customer's active bookings as stored.

Any failure (timeout, transport error, non-2xx, malformed or empty answer, tool loop exhausted,
unbacked claim) is counted in `zapq_llm_fallbacks_total{reason}` and answered by `fallback`, so
the customer always gets a reply. If a tool had already changed something in that burst, the reply
is instead written from what the tools stored, so the confirmation (and its action) is not lost.

A test drive the rule-based engine was collecting in a fallback turn (`pending_test_drive`) is
handed to the model as context and dropped from the state once the model answers: the model
finishes it with `book_test_drive`. When the model fails again, `fallback` gets the draft back.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from zapq import metrics
from zapq.conversation.dealership import Dealership
from zapq.conversation.engine import (
    Action,
    ConversationEngine,
    ConversationState,
    EngineReply,
    Handoff,
    OptIn,
    OptOut,
    with_turns,
)
from zapq.conversation.formatting import fit, vehicle_name
from zapq.conversation.inventory import InventoryLookup
from zapq.conversation.llm_claims import ClaimKind, unbacked_claims
from zapq.conversation.llm_prompt import chat_messages, context_prompt, describe_draft
from zapq.conversation.llm_protocol import ChatClient, ModelFailure, assistant_turn, tool_result
from zapq.conversation.llm_tools import TOOL_SPECS, BurstTools
from zapq.conversation.reading import BatchReading, read_batch
from zapq.conversation.rules import (
    HANDOFF_REASON,
    HANDOFF_TEXT,
    OPT_IN_TEXT,
    OPT_OUT_TEXT,
    handoff_summary,
    note_interest,
    opt_out_reply,
)
from zapq.conversation.when import local_now
from zapq.whatsapp.client import MAX_TEXT_BODY
from zapq.whatsapp.events import InboundMessage

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 15.0
TEMPERATURE = 0.3
#: Model calls per burst: a search, a booking, the reply, and one correction of an unbacked claim.
MAX_MODEL_CALLS = 5
#: Tool calls run from one model message; more get an error result (a runaway model, not a customer).
MAX_TOOL_CALLS_PER_MESSAGE = 6

CLAIM_WORDS: dict[ClaimKind, str] = {
    "booked": "agendado",
    "rescheduled": "remarcado",
    "cancelled": "cancelado",
}
TOO_MANY_CALLS = (
    f'{{"error": "muitas ferramentas numa só mensagem; chame no máximo {MAX_TOOL_CALLS_PER_MESSAGE}"}}'
)


class LLMEngine:
    """`ConversationEngine` backed by `POST {base_url}/chat/completions` with function calling.

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
        self.inventory = inventory
        self.dealership = dealership
        self.fallback = fallback
        self._owns_http = http is None
        self.http = http or httpx.Client()
        self.client = ChatClient(base_url, api_key, model, self.http, timeout_s, TEMPERATURE)

    def close(self) -> None:
        if self._owns_http:
            self.http.close()

    def reply(self, state: ConversationState, batch: list[InboundMessage]) -> EngineReply:
        if not batch or all(message.kind == "reaction" for message in batch):
            return EngineReply(text="", state=state)
        now = local_now(batch[-1].sent_at)
        models = self.inventory.models()
        reading = read_batch(batch, models, now.date())
        if reading.opt_out:
            return opt_out_reply(state, batch)
        tools = BurstTools(state.wa_id, now, self.inventory, self.dealership)
        context = context_prompt(state, now, models, tools.describe_active(), self._draft(state))
        try:
            text = self._converse(chat_messages(self.dealership, context, state, batch), tools)
        except ModelFailure as failure:
            logger.warning("LLM answer unusable, replying without it: %s", failure)
            metrics.llm_fallbacks().labels(failure.reason).inc()
            if not (tools.changes or tools.handoff or tools.opted_out):
                return self.fallback.reply(state, batch)
            text = self._from_tools(tools)
        return self._finish(state, batch, reading, tools, text)

    def _converse(self, messages: list[dict[str, Any]], tools: BurstTools) -> str:
        """The model's final text, once every claim in it is backed by a tool. Raises ModelFailure."""
        corrected = False
        for call_number in range(1, MAX_MODEL_CALLS + 1):
            last = call_number == MAX_MODEL_CALLS
            message = self.client.complete(messages, TOOL_SPECS, "none" if last else "auto")
            if message.tool_calls:
                if last:
                    raise ModelFailure("tool_loop", f"still calling tools after {MAX_MODEL_CALLS} calls")
                messages.append(assistant_turn(message))
                for index, call in enumerate(message.tool_calls):
                    logger.info("LLM tool call %s", call.function.name)
                    result = tools.run(call) if index < MAX_TOOL_CALLS_PER_MESSAGE else TOO_MANY_CALLS
                    messages.append(tool_result(call.id, result))
                continue
            text = (message.content or "").strip()
            if not text:
                raise ModelFailure("empty", "the model answered with an empty reply")
            unbacked = unbacked_claims(text, tools)
            if not unbacked:
                return text
            if corrected or last:
                raise ModelFailure(
                    "unbacked_claim", f"the reply claims {unbacked} no tool did: {text[:200]!r}"
                )
            corrected = True
            messages.append({"role": "assistant", "content": text})
            messages.append({"role": "system", "content": _correction(unbacked)})
        raise ModelFailure("tool_loop", f"no reply after {MAX_MODEL_CALLS} calls")  # pragma: no cover

    def _finish(
        self,
        state: ConversationState,
        batch: list[InboundMessage],
        reading: BatchReading,
        tools: BurstTools,
        text: str,
    ) -> EngineReply:
        facts = dict(state.facts)
        note_interest(facts, reading.queries or tools.searched)
        if tools.changes:
            # What the rule-based engine reads back when it answers a later burst.
            if booking := tools.soonest_booking():
                facts["test_drive"] = booking
            else:
                facts.pop("test_drive", None)
        actions: list[Action] = tools.actions()
        if tools.handoff is not None or reading.wants_human:
            reason = tools.handoff.reason if tools.handoff else HANDOFF_REASON
            actions.append(Handoff(reason=reason, summary=self._handoff_summary(state, batch, facts, tools)))
            if tools.handoff is None:
                text += f"\n\n{HANDOFF_TEXT}"
        opted_out = state.opted_out
        if tools.opted_out:
            actions.append(OptOut())
            opted_out = True
        elif state.opted_out:  # writing to us again is consent to talk, as with the rules engine
            actions.append(OptIn())
            text = f"{OPT_IN_TEXT}\n\n{text}"
            opted_out = False
        text = fit(text, MAX_TEXT_BODY)
        return EngineReply(
            text=text,
            actions=actions,
            state=with_turns(state, batch, text, facts=facts, pending_test_drive=None, opted_out=opted_out),
        )

    def _from_tools(self, tools: BurstTools) -> str:
        """The reply when the model failed after a tool acted: what was stored, in our words."""
        parts = [" ".join(tools.confirmations())]
        if tools.handoff is not None:
            parts.append(HANDOFF_TEXT)
        if tools.opted_out:
            parts.append(OPT_OUT_TEXT)
        return "\n\n".join(part for part in parts if part)

    def _handoff_summary(
        self, state: ConversationState, batch: list[InboundMessage], facts: dict[str, str], tools: BurstTools
    ) -> str:
        """The rules' summary (who, interest, last messages), the bookings as stored, the model's note."""
        told = {key: value for key, value in facts.items() if key != "test_drive"}
        lines = [handoff_summary(state, batch, told)]
        active = tools.describe_active()
        lines.append(
            "Test drives ativos: " + "; ".join(active) + "." if active else "Nenhum test drive ativo."
        )
        if tools.handoff is not None and tools.handoff.note:
            lines.append(f"Nota do assistente: {tools.handoff.note}")
        return "\n".join(lines)

    def _draft(self, state: ConversationState) -> str | None:
        draft = state.pending_test_drive
        if draft is None:
            return None
        vehicle = self.inventory.get(draft.vehicle_id) if draft.vehicle_id is not None else None
        return describe_draft(draft, vehicle_name(vehicle) if vehicle else None)


def _correction(unbacked: list[ClaimKind]) -> str:
    said = " / ".join(CLAIM_WORDS[kind] for kind in unbacked)
    return (
        f"Verificação automática: sua resposta diz que um test drive foi {said}, mas nenhuma ferramenta fez"
        " isso nesta conversa. Chame a ferramenta certa, ou reescreva a resposta sem afirmar isso."
    )
