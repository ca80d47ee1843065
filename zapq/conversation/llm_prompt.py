"""What the LLM engine tells the model: its rules, the dealership's facts, the moment, the conversation.

The facts every answer may need (address, hours, documents, financing terms) are in the system
prompt, so no call is spent fetching them; the stock and the bookings, which change, are read
through the tools. The customer's active bookings are listed too, with their ids, so "muda meu test
drive para sexta" needs no lookup first.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from zapq.conversation.dealership import Dealership
from zapq.conversation.engine import ConversationState, TestDriveDraft
from zapq.conversation.reading import CAPTIONED_KINDS
from zapq.conversation.when import WEEKDAY_NAMES, describe_day
from zapq.whatsapp.events import InboundMessage, MessageKind

DAYS_SPELLED_OUT = 8

RULES = """\
Você é o assistente virtual da {name}, uma concessionária de carros no Brasil, e conversa com clientes \
pelo WhatsApp. Responda sempre em português do Brasil, com simpatia e poucas palavras: no máximo três \
frases curtas, ou uma lista curta de carros.

Use as ferramentas:
- search_vehicles e get_vehicle para qualquer carro, preço ou detalhe. Fale somente dos carros que elas \
devolvem, com os preços como vêm (R$ 139.990,00). Nunca invente carros, versões, preços, cores ou \
condições. Se não temos o carro pedido, diga que não temos no momento e ofereça parecidos.
- book_test_drive, reschedule_test_drive e cancel_test_drive são o único jeito de agendar, remarcar ou \
cancelar um test drive. Nunca diga que agendou, remarcou ou cancelou sem que a ferramenta tenha \
respondido "ok"; se ela devolver um erro, explique ao cliente e proponha outro horário. Pergunte o que \
faltar (dia e hora; o carro é opcional, pode ser escolhido na loja). Datas AAAA-MM-DD e horas HH:MM, \
no horário de São Paulo, sempre dentro do horário da loja.
- list_my_test_drives para ver os test drives do cliente e seus ids.
- simulate_financing para qualquer parcela: nunca calcule você mesmo, e diga que é uma simulação \
indicativa, sujeita a análise de crédito.
- hand_off_to_person quando o cliente pedir para falar com uma pessoa, ou quando você não souber \
ajudar; depois diga que um atendente vai falar com ele em breve.
- opt_out_of_messages quando o cliente pedir para não receber mais mensagens."""

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


def system_prompt(dealership: Dealership) -> str:
    """The rules, then the dealership's facts as configured."""
    financing = dealership.financing
    terms = ", ".join(str(months) for months in financing.terms_months)
    facts = [
        "Sobre a loja:",
        f"- Nome: {dealership.name}",
        f"- Endereço: {dealership.address}",
        f"- Telefone: {dealership.phone}",
        f"- Horário (também dos test drives): {dealership.opening_hours.describe()}; fora disso, fechado.",
        f"- Documentos para comprar ou financiar: {dealership.documents}",
        f"- Financiamento com {', '.join(financing.partners)}: taxa a partir de {financing.monthly_rate_pct}%"
        f" ao mês, prazos de {terms} meses, entrada mínima de {financing.min_down_payment_pct}%.",
    ]
    return RULES.format(name=dealership.name) + "\n\n" + "\n".join(facts)


def context_prompt(
    state: ConversationState,
    now: dt.datetime,
    models: list[tuple[str, str]],
    bookings: list[str],
    draft: str | None,
) -> str:
    """This burst's moment, the customer, the models in stock, their bookings and any booking under way."""
    days = ", ".join(
        f"{WEEKDAY_NAMES[day.weekday()]} {day.isoformat()}"
        for day in (now.date() + dt.timedelta(days=ahead) for ahead in range(DAYS_SPELLED_OUT))
    )
    lines = [
        f"Agora: {WEEKDAY_NAMES[now.weekday()]}, {now:%d/%m/%Y %H:%M} (horário de São Paulo).",
        f"Próximos dias: {days}.",
    ]
    if state.profile_name:
        lines.append(f"Nome do cliente no WhatsApp: {state.profile_name}.")
    stock = ", ".join(f"{make} {model}" for make, model in models) or "nenhum carro disponível"
    lines.append(f"Modelos em estoque: {stock}.")
    lines.append("Test drives ativos do cliente: " + ("; ".join(bookings) if bookings else "nenhum") + ".")
    if draft:
        lines.append(draft)
    return "\n".join(lines)


def describe_draft(draft: TestDriveDraft, vehicle_name: str | None) -> str:
    """A booking the rule-based engine was collecting in a turn it answered, for the model to finish."""
    known = [
        f"carro: {vehicle_name}" if vehicle_name else "carro: a escolher na loja" if draft.any_vehicle else ""
    ]
    if draft.day:
        known.append(f"dia: {describe_day(draft.day)} ({draft.day.isoformat()})")
    if draft.time:
        known.append(f"hora: {draft.time:%H:%M}")
    given = "; ".join(part for part in known if part) or "nada ainda"
    return f"Um test drive estava sendo agendado (já dito: {given}); continue de onde parou."


def chat_messages(
    dealership: Dealership, context: str, state: ConversationState, batch: list[InboundMessage]
) -> list[dict[str, Any]]:
    """System prompt, this burst's context, the stored history, then the burst as one user message."""
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": system_prompt(dealership)},
        {"role": "system", "content": context},
    ]
    for turn in state.history:
        messages.append({"role": "user" if turn.role == "customer" else "assistant", "content": turn.text})
    messages.append({"role": "user", "content": "\n".join(burst_lines(batch))})
    return messages


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
