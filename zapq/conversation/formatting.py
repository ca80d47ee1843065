"""How prices and cars are written to Brazilian customers ('R$ 139.990,00'), within WhatsApp's lengths."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from zapq.conversation.vehicle import Vehicle

TRANSMISSION_NAMES = {"automatic": "automático", "manual": "manual"}
FUEL_NAMES = {"flex": "flex", "gasoline": "a gasolina", "diesel": "diesel", "hybrid": "híbrido",
              "electric": "elétrico"}  # fmt: skip


def format_brl(amount: Decimal | int) -> str:
    """Brazilian reais: dot for thousands, comma for cents ('R$ 139.990,00')."""
    english = f"{Decimal(amount):,.2f}"
    return "R$ " + english.replace(",", "_").replace(".", ",").replace("_", ".")


def vehicle_name(vehicle: Vehicle) -> str:
    """'Toyota Corolla XEi 2024'."""
    words = [vehicle.make, vehicle.model, vehicle.trim_level, str(vehicle.year)]
    return " ".join(word for word in words if word)


def format_km(km: int) -> str:
    """'18.200 km'."""
    return f"{km:,} km".replace(",", ".")


def vehicle_line(vehicle: Vehicle, details: Iterable[str] = ()) -> str:
    """'• Toyota Corolla XEi 2024, prata, R$ 139.990,00', one line of a WhatsApp list.

    `details` adds what the customer filtered on, before the price: "transmission" ('automático'),
    "fuel" ('diesel'), "km" ('12.400 km'), "seats" ('7 lugares').
    """
    words = [vehicle_name(vehicle), vehicle.colour]
    for detail in details:
        if detail == "transmission":
            words.append(TRANSMISSION_NAMES.get(vehicle.transmission, vehicle.transmission))
        elif detail == "fuel":
            words.append(FUEL_NAMES.get(vehicle.fuel, vehicle.fuel))
        elif detail == "km":
            words.append(format_km(vehicle.km))
        elif detail == "seats":
            words.append(f"{vehicle.seats} lugares")
    return f"• {', '.join(words)}, {format_brl(vehicle.price)}"


def fit(text: str, limit: int) -> str:
    """`text`, or its first `limit` - 1 characters and '…': Meta refuses a body over its limit outright."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
