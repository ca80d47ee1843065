"""How prices and cars are written to Brazilian customers ('R$ 139.990,00'), within WhatsApp's lengths."""

from __future__ import annotations

from decimal import Decimal

from zapq.conversation.vehicle import Vehicle


def format_brl(amount: Decimal | int) -> str:
    """Brazilian reais: dot for thousands, comma for cents ('R$ 139.990,00')."""
    english = f"{Decimal(amount):,.2f}"
    return "R$ " + english.replace(",", "_").replace(".", ",").replace("_", ".")


def vehicle_name(vehicle: Vehicle) -> str:
    """'Toyota Corolla XEi 2024'."""
    words = [vehicle.make, vehicle.model, vehicle.trim_level, str(vehicle.year)]
    return " ".join(word for word in words if word)


def vehicle_line(vehicle: Vehicle) -> str:
    """'• Toyota Corolla XEi 2024, prata, R$ 139.990,00', one line of a WhatsApp list."""
    return f"• {vehicle_name(vehicle)}, {vehicle.colour}, {format_brl(vehicle.price)}"


def fit(text: str, limit: int) -> str:
    """`text`, or its first `limit` - 1 characters and '…': Meta refuses a body over its limit outright."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
