"""What a campaign message says: free text inside the 24 h window, template parameters outside it.

Templates are approved by Meta with positional body parameters, in this order: {{1}} the
customer's first name, {{2}} the car, {{3}} its price (`inactive_48h` takes the name only).
"""

from __future__ import annotations

from typing import Any

from zapq.conversation.formatting import fit, format_brl, vehicle_name
from zapq.conversation.vehicle import Vehicle
from zapq.reengagement.campaigns import CampaignType

NAME_FALLBACK = "tudo bem"  # "Oi, tudo bem!" reads naturally where a name is missing
MAX_NAME_CHARS = 30
OPT_OUT_HINT = "Se não quiser mais receber ofertas, responda SAIR."


def first_name(profile_name: str | None) -> str:
    words = (profile_name or "").split()
    return fit(words[0], MAX_NAME_CHARS) if words else NAME_FALLBACK


def campaign_text(campaign: CampaignType, profile_name: str | None, vehicle: Vehicle | None) -> str:
    """The free-form message, in Brazilian Portuguese."""
    name = first_name(profile_name)
    if campaign == CampaignType.INACTIVE_48H or vehicle is None:
        return f"Oi, {name}! Ainda procurando carro? Posso te ajudar a encontrar o ideal. {OPT_OUT_HINT}"
    car, price = vehicle_name(vehicle), format_brl(vehicle.price)
    if campaign == CampaignType.NEW_CARS:
        return (
            f"Oi, {name}! Chegou um carro com a cara do que você procurava: {car}, por {price}."
            f" Quer fotos ou agendar um test drive? {OPT_OUT_HINT}"
        )
    return (
        f"Oi, {name}! O {car} que você viu baixou de preço: agora por {price}."
        f" Quer aproveitar e agendar um test drive? {OPT_OUT_HINT}"
    )


def template_components(
    campaign: CampaignType, profile_name: str | None, vehicle: Vehicle | None
) -> list[dict[str, Any]]:
    """The body parameters of the campaign's template."""
    values = [first_name(profile_name)]
    if campaign != CampaignType.INACTIVE_48H and vehicle is not None:
        values += [vehicle_name(vehicle), format_brl(vehicle.price)]
    return [{"type": "body", "parameters": [{"type": "text", "text": value} for value in values]}]
