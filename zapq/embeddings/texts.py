"""What gets embedded: the kinds of text, their content hash, and the text of a vehicle.

The content hash is the key of an embedding everywhere: in the flow-control `dedup` key of
`generate_embeddings` and in the `embeddings` table's unique key. Whitespace is normalised before
hashing, so "oi  tudo bem" and "oi tudo bem " are one text.
"""

from __future__ import annotations

import enum
import hashlib
import re
import unicodedata
from collections.abc import Sequence

from zapq.conversation.vehicle import Vehicle


class EmbeddingKind(enum.StrEnum):
    MESSAGE = "message"  # a customer's inbound text message
    VEHICLE = "vehicle"  # a car in stock: its card and its description
    DOCUMENT_CHUNK = "document_chunk"  # a piece of a document, for the background-task service


#: Longer texts are cut here before embedding: a WhatsApp message is at most 4,096 characters, and
#: what a text is about shows in its first paragraphs.
MAX_TEXT_CHARS = 2_000
_SPACES = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    """Whitespace collapsed, NULs dropped (PostgreSQL refuses them), cut at MAX_TEXT_CHARS."""
    return _SPACES.sub(" ", text.replace("\x00", "")).strip()[:MAX_TEXT_CHARS]


def content_hash(kind: EmbeddingKind | str, parts: Sequence[str]) -> bytes:
    """SHA-256 of the kind and the normalised parts: the identity of an embedding."""
    digest = hashlib.sha256(str(kind).encode())
    for part in parts:
        digest.update(b"\x1f" + normalise_text(part).encode())
    return digest.digest()


_BODY = {"hatch": "hatch", "sedan": "sedã", "suv": "SUV", "pickup": "picape"}
_FUEL = {
    "flex": "flex", "gasoline": "gasolina", "diesel": "diesel", "hybrid": "híbrido", "electric": "elétrico"
}  # fmt: skip
_TRANSMISSION = {"manual": "câmbio manual", "automatic": "câmbio automático"}


def vehicle_parts(vehicle: Vehicle) -> tuple[str, str]:
    """A car's card (names and attributes, in the words customers use) and its description.

    Embedded separately and summed (see `providers.embed_parts`): the card finds a car by name,
    the description by what it is for; one text mixing both scored worse on the labelled set.
    """
    card = (
        f"{_BODY.get(vehicle.body_type, vehicle.body_type)} {vehicle.make} {vehicle.model}"
        f" {vehicle.trim_level}, {vehicle.year}, {_FUEL.get(vehicle.fuel, vehicle.fuel)},"
        f" {_TRANSMISSION.get(vehicle.transmission, vehicle.transmission)}, {vehicle.seats} lugares,"
        f" {vehicle.km} km. {vehicle.description}"
    )
    return normalise_text(card), normalise_text(vehicle.description or card)


def fold(text: str) -> str:
    """Lower case without accents: how keyword matching compares words ("Sedã" is "seda")."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(char for char in decomposed if not unicodedata.combining(char))
