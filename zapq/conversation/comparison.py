"""Two or three cars side by side ("qual a diferença entre o HR-V e o Compass?"), on the facts we stock."""

from __future__ import annotations

from collections.abc import Callable

from zapq.conversation.formatting import FUEL_NAMES, TRANSMISSION_NAMES, format_brl, format_km, vehicle_name
from zapq.conversation.vehicle import Vehicle

ROWS: tuple[tuple[str, Callable[[Vehicle], str]], ...] = (
    ("Preço", lambda vehicle: format_brl(vehicle.price)),
    ("Ano", lambda vehicle: str(vehicle.year)),
    ("Quilometragem", lambda vehicle: format_km(vehicle.km)),
    ("Câmbio", lambda vehicle: TRANSMISSION_NAMES.get(vehicle.transmission, vehicle.transmission)),
    ("Combustível", lambda vehicle: FUEL_NAMES.get(vehicle.fuel, vehicle.fuel)),
    ("Lugares", lambda vehicle: str(vehicle.seats)),
)


def side_by_side(vehicles: list[Vehicle]) -> str:
    """'*Honda HR-V EXL 1.5 2023* x *Jeep Compass ...*' then one line per fact: '• Preço: R$ ... x R$ ...'."""
    header = " x ".join(f"*{vehicle_name(vehicle)}*" for vehicle in vehicles)
    rows = [f"• {label}: " + " x ".join(value(vehicle) for vehicle in vehicles) for label, value in ROWS]
    return "\n".join([header, *rows])


def details(vehicle: Vehicle) -> str:
    """One car's facts on one line, when there is nothing to compare it with."""
    return f"*{vehicle_name(vehicle)}*: " + ", ".join(
        f"{label.lower()} {value(vehicle)}" for label, value in ROWS
    )
