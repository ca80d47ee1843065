"""Answers from the configured dealership facts: address, opening hours, phone, documents, financing.

Every sentence is built from `Dealership`, so what the customer reads is what the dealership configured
(DEALERSHIP_*, FINANCING_*). A financing answer is always labelled an indicative simulation.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from zapq.conversation.dealership import Dealership
from zapq.conversation.formatting import format_brl, vehicle_name
from zapq.conversation.reading import BatchReading
from zapq.conversation.vehicle import Vehicle
from zapq.conversation.when import describe_day

SIMULATION_LABEL = "simulação indicativa, sujeita a análise de crédito"
_DOWN_PAYMENT = re.compile(
    r"\bentrada (?:de |com )?(?:r\$\s*)?(\d{1,3}(?:\.\d{3})+|\d+)(?:,\d{1,2})?\s*(mil\b|k\b)?"
)


def store_answer(dealership: Dealership, reading: BatchReading, today: dt.date) -> str:
    """The address, the hours (for the day asked, or the week), the phone and the documents, as asked."""
    parts = []
    if reading.asks_address:
        parts.append(f"Estamos na {dealership.address}.")
    if reading.asks_hours:
        parts.append(hours_answer(dealership, reading.day, today))
    if reading.asks_phone:
        parts.append(f"Nosso telefone é {dealership.phone} (e por aqui no WhatsApp também).")
    if reading.asks_documents:
        parts.append(f"Para comprar, você vai precisar de: {dealership.documents}.")
    return " ".join(parts)


def hours_answer(dealership: Dealership, day: dt.date | None, today: dt.date) -> str:
    """'Amanhã (quinta-feira, 20/11) abrimos das 9h às 18h.' or 'Domingo, 23/11, a loja não abre. ...'."""
    hours = dealership.opening_hours
    week = f"Atendemos {hours.describe()}."
    if day is None:
        return week
    named = {today: "Hoje", today + dt.timedelta(days=1): "Amanhã"}.get(day)
    when = f"{named} ({describe_day(day)})" if named else f"{describe_day(day).capitalize()},"
    if hours.on(day) is None:
        return f"{when} a loja não abre. {week}"
    return f"{when} abrimos {hours.describe_day(day)}."


def find_down_payment(folded_text: str) -> Decimal | None:
    """'entrada de 30 mil', 'com entrada de R$ 25.000' -> the amount in reais."""
    match = _DOWN_PAYMENT.search(folded_text)
    if not match:
        return None
    amount = Decimal(match.group(1).replace(".", ""))
    return amount * 1000 if match.group(2) or amount < 1000 else amount


def financing_answer(dealership: Dealership, vehicle: Vehicle | None, down_payment: Decimal | None) -> str:
    """The partners, the conditions, and a simulation for `vehicle` at each configured term."""
    financing = dealership.financing
    rate = f"{financing.monthly_rate_pct:.2f}".replace(".", ",")
    partners = ", ".join(financing.partners)
    opening = f"Dá sim! Financiamos com {partners}." if partners else "Dá sim, financiamos!"
    conditions = f"Entrada a partir de {financing.min_down_payment_pct}% do valor e taxa de {rate}% ao mês"
    if vehicle is None:
        return (
            f"{opening} {conditions}, em {_terms(financing.terms_months)} meses."
            " Me diga qual carro te interessa que eu faço uma simulação."
        )
    minimum = financing.min_down_payment(vehicle.price)
    note = ""
    if down_payment is None or down_payment < minimum:
        if down_payment is not None:
            note = f" (a entrada mínima é {financing.min_down_payment_pct}%)"
        down_payment = minimum
    down_payment = min(down_payment, vehicle.price)
    lines = [
        f"• {months}x de {format_brl(financing.installment(vehicle.price, down_payment, months))}"
        for months in financing.terms_months
    ]
    return (
        f"{opening}\n\nSimulação para o {vehicle_name(vehicle)} ({format_brl(vehicle.price)}),"
        f" com entrada de {format_brl(down_payment)}{note}:\n"
        + "\n".join(lines)
        + f"\n\nTaxa de {rate}% ao mês."
        f" É uma {SIMULATION_LABEL}. Quer falar com um consultor para fazer a proposta?"
    )


def _terms(terms: tuple[int, ...]) -> str:
    words = [str(term) for term in terms]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " ou " + words[-1]
