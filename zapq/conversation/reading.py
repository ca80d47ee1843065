"""What a burst of customer messages says: intents, and the cars, budgets and dates it mentions.

Pure functions over text and tapped buttons. The rule-based engine answers from a `BatchReading`;
the LLM engine uses one to fetch inventory facts and to enforce opt-out and handoff. A burst is
read as a whole, so "oi" + "tudo bem?" + "vocês têm o Corolla 2024?" is one greeting and
one question. A tap on one of our buttons means its `MenuChoice`, whatever its title says.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache

import msgspec

from zapq.conversation.car_filters import (
    SearchOrder,
    find_colour,
    find_fuel,
    find_max_km,
    find_min_seats,
    find_order,
    find_transmission,
)
from zapq.conversation.formatting import FUEL_NAMES, format_brl, format_km
from zapq.conversation.when import DayMention, find_day, find_days, find_time
from zapq.whatsapp.events import InboundMessage, MessageKind

OPT_OUT_WORDS = frozenset({"PARAR", "SAIR", "STOP"})

# Kinds whose `text` the customer typed or tapped, and media whose `text` is a caption.
TYPED_KINDS: frozenset[MessageKind] = frozenset({"text", "button", "interactive"})
CAPTIONED_KINDS: frozenset[MessageKind] = frozenset({"image", "video", "document"})
MEDIA_KINDS: tuple[MessageKind, ...] = (
    "image", "sticker", "audio", "video", "document", "location", "contacts", "unsupported",
)  # fmt: skip


class MenuChoice(StrEnum):
    """The ids of the reply buttons zapq sends; a tap carries one back as its `reply_id`."""

    SEE_CARS = "ver_carros"
    BOOK_TEST_DRIVE = "agendar_test_drive"
    TALK_TO_PERSON = "falar_atendente"


MAKE_ALIASES = {
    "toyota": "Toyota",
    "honda": "Honda",
    "volkswagen": "Volkswagen",
    "volks": "Volkswagen",
    "vw": "Volkswagen",
    "chevrolet": "Chevrolet",
    "chevy": "Chevrolet",
    "gm": "Chevrolet",
    "fiat": "Fiat",
    "hyundai": "Hyundai",
    "jeep": "Jeep",
    "renault": "Renault",
    "nissan": "Nissan",
    "ford": "Ford",
    "peugeot": "Peugeot",
    "citroen": "Citroën",
    "mitsubishi": "Mitsubishi",
    "byd": "BYD",
    "bmw": "BMW",
    "mercedes": "Mercedes-Benz",
    "audi": "Audi",
}

# Models customers ask for whether or not they are in stock, so "tem Mobi?" is understood
# as a car we lack rather than as noise. The inventory's own models are added at read time.
POPULAR_MODELS: tuple[tuple[str, str], ...] = (
    ("Toyota", "Corolla"), ("Toyota", "Corolla Cross"), ("Toyota", "Hilux"), ("Toyota", "Yaris"),
    ("Toyota", "SW4"), ("Toyota", "Etios"), ("Honda", "Civic"), ("Honda", "HR-V"), ("Honda", "City"),
    ("Honda", "Fit"), ("Honda", "WR-V"), ("Volkswagen", "Polo"), ("Volkswagen", "T-Cross"),
    ("Volkswagen", "Nivus"), ("Volkswagen", "Virtus"), ("Volkswagen", "Gol"), ("Volkswagen", "Saveiro"),
    ("Volkswagen", "Amarok"), ("Volkswagen", "Taos"), ("Chevrolet", "Onix"), ("Chevrolet", "Onix Plus"),
    ("Chevrolet", "Tracker"), ("Chevrolet", "S10"), ("Chevrolet", "Spin"), ("Chevrolet", "Montana"),
    ("Chevrolet", "Cruze"), ("Fiat", "Argo"), ("Fiat", "Pulse"), ("Fiat", "Toro"), ("Fiat", "Mobi"),
    ("Fiat", "Strada"), ("Fiat", "Cronos"), ("Fiat", "Fastback"), ("Hyundai", "HB20"), ("Hyundai", "HB20S"),
    ("Hyundai", "Creta"), ("Hyundai", "Tucson"), ("Jeep", "Compass"), ("Jeep", "Renegade"),
    ("Jeep", "Commander"), ("Renault", "Kwid"), ("Renault", "Sandero"), ("Renault", "Duster"),
    ("Renault", "Logan"), ("Renault", "Oroch"), ("Nissan", "Kicks"),
    ("Nissan", "Frontier"), ("Ford", "Ka"), ("Ford", "Ranger"), ("Ford", "EcoSport"), ("Citroën", "C3"),
)  # fmt: skip

BODY_NAMES = {"suv": "SUV", "sedan": "sedã", "hatch": "hatch", "pickup": "picape"}
BODY_TYPES = {
    "suv": "suv",
    "sedan": "sedan",
    "seda": "sedan",
    "hatch": "hatch",
    "picape": "pickup",
    "pickup": "pickup",
    "caminhonete": "pickup",
}

_GREETING_AT_START = re.compile(r"^(?:oi+e?|ola|opa|e ai|eai|salve|hey|hello)\b")
_TIME_OF_DAY_GREETING = re.compile(r"\b(bom dia|boa tarde|boa noite)\b")
_HOW_ARE_YOU = re.compile(r"\b(?:tudo (?:bem|bom|certo|joia|tranquilo)|td bem|como vai|como voce esta)\b")
_THANKS = re.compile(r"\b(?:obrigad[oa]|brigad[oa]|valeu|vlw|agradeco)\b")
_HUMAN = re.compile(
    r"\b(?:atendente|humano|vendedor|vendedora|consultor|consultora|atendimento humano|ser humano"
    r"|pessoa (?:de verdade|real)|falar com (?:um |uma |o |a |algum |alguma )?(?:pessoa|alguem|gerente))\b"
)
_TEST_DRIVE = re.compile(
    r"\b(?:test[\s-]?drive|testdrive|testar|agendar|agendamento|marcar (?:um |uma )?(?:visita|horario|test))"
)
_PRICE = re.compile(
    r"\b(?:quanto (?:custa|e|ta|esta|sai|fica)|precos?|valor|valores|qual (?:e )?o (?:preco|valor))\b"
)
_LISTING = re.compile(
    r"\b(?:ver carros|quais carros|que carros|quais (?:os )?modelos|o que (?:voces )?tem|estoque|catalogo"
    r"|opcoes|carros disponiveis|seminovos|usados)\b"
)
_CANCEL = re.compile(r"\b(?:cancelar|cancela|desisto|deixa pra la|esquece)\b")
_OPT_OUT_PHRASE = re.compile(
    r"\b(?:(?:parar?|pare|parem) de (?:me )?(?:mandar|enviar) (?:mais )?mensage(?:m|ns)"
    r"|nao (?:quero|desejo) (?:mais )?receber (?:mais )?(?:nenhuma )?(?:mensage(?:m|ns)|nada)"
    r"|nao (?:me )?(?:mande|mandem|manda|envie|enviem|envia) mais (?:mensage(?:m|ns)|nada)"
    r"|nao quero mais (?:mensage(?:m|ns)|contato)"
    r"|me (?:tira|tire|tirem|remove|remova|removam|exclui|exclua|retira|retire) d[ao]s?"
    r" (?:sua |essa |dessa )?(?:lista|contatos|cadastro)"
    r"|descadastr(?:ar|a|e|em))\b"
)
_NOT_OPT_OUT = re.compile(r"\bnao (?:precisa|quero|pode|e pra|vai) (?:\w+ )?parar\b")
_RESCHEDULE = re.compile(
    r"\b(?:remarc\w*|reagend\w*|adiar|adia|(?:mudar|muda|mudo|trocar|troca|troco|alterar|altera)"
    r" (?:o |a )?(?:dia|data|horario|hora)\b)"
)
_CANCEL_BOOKING = re.compile(
    r"\b(?:cancelar|cancela|cancele|cancelo|desmarcar|desmarca|desmarque"
    r"|nao vou (?:mais )?(?:poder|conseguir) ir)\b"
)
_MENTIONS_TEST_DRIVE = re.compile(
    r"\b(?:test[\s-]?drive|testdrive|agendamento|agendado|visita|horario marcado)\b"
)
_ADDRESS = re.compile(
    r"\b(?:onde (?:fica|e|esta|estao|voces ficam|vcs ficam)|endereco|localizacao"
    r"|como (?:chego|chegar|faco pra chegar)|qual (?:o )?local)\b"
)
_HOURS = re.compile(
    r"\b(?:que horas? (?:voces |vcs |a loja )?(?:abre|abrem|fecha|fecham|funciona|funcionam|atende|atendem)"
    r"|horarios? de (?:funcionamento|atendimento)|ate que horas|qual (?:e )?o horario (?:da loja|de voces)"
    r"|(?:abre|abrem|funciona|funcionam|esta aberta|estao abertos|atende|atendem|fecha|fecham)"
    r" (?:hoje|amanha|depois de amanha|no|na|aos|sabado|domingo|segunda|terca|quarta|quinta|sexta|feriado))\b"
)
_PHONE = re.compile(
    r"\b(?:telefone|fone|numero (?:de telefone|da loja|pra ligar|para ligar)|ligar pra (?:voces|loja)"
    r"|contato da loja)\b"
)
_DOCUMENTS = re.compile(r"\b(?:documentos?|documentacao|papelada)\b")
_FINANCING = re.compile(r"\b(?:financ\w*|parcel\w*|entrada|prestac\w*|simulac\w*|simular|a prazo)\b")
_TRADE_IN = re.compile(
    r"\b(?:(?:na|de|como|pra|para|em) troca|trocar (?:o )?meu|aceita(?:m)? (?:o )?meu"
    r"|avalia(?:m|r)? (?:o )?meu|meu carro atual|meu carro (?:na|como|de) (?:troca|entrada)|usado na troca)\b"
)
_COMPARISON = re.compile(
    r"\b(?:diferenca|compar\w*|versus|vs|qual (?:e )?(?:o )?melhor|qual (?:vale|compensa) mais)\b"
)
_ORDINAL = re.compile(r"^\s*(?:o |a )?(primeir[oa]|segundo|terceir[oa]|ultim[oa]|[1-9])\s*[.!]?\s*$")
_ORDINALS = {"primeir": 1, "segundo": 2, "terceir": 3, "ultim": -1}
_YEAR = re.compile(r"(?<![\d/.,])(19[89]\d|20[0-4]\d)(?![\d/.,])")
_BUDGET = re.compile(
    r"\b(?:ate|abaixo de|menos de|no maximo|maximo de|orcamento de)\s*(?:r\$\s*)?"
    r"(\d{1,3}(?:\.\d{3})+|\d+)(?:,\d{1,2})?(?![\d.,]|\s*(?:h\b|hs\b|horas?\b|:|/))"
    r"(?!\s*(?:mil\s*|k\s*)?(?:km|kms|quilometros?)\b)\s*(mil\b|k\b)?"
)
_BODY = re.compile(r"\b(suvs?|sedans?|seda|hatch(?:back)?s?|picapes?|pick[\s-]?ups?|caminhonetes?)\b")


class VehicleQuery(msgspec.Struct, frozen=True):
    """One car the customer asked about; every field narrows the search."""

    make: str | None = None
    model: str | None = None
    year: int | None = None
    max_price: Decimal | None = None
    body_type: str | None = None
    transmission: str | None = None
    fuel: str | None = None
    max_km: int | None = None
    colour: str | None = None
    min_seats: int | None = None

    def describe(self) -> str:
        """'Toyota Corolla 2020', 'SUV automático até R$ 120.000,00', 'carros da Fiat', 'carro branco'."""
        words = [word for word in (self.make, self.model) if word]
        if self.body_type:
            words.insert(0, self.body_type.upper() if self.body_type == "suv" else BODY_NAMES[self.body_type])
        if self.year:
            words.append(str(self.year))
        if not words:
            words.append("carro")
        elif not self.model and not self.body_type and self.make:
            words = ["carros da", *words]
        if self.transmission:
            words.append("automático" if self.transmission == "automatic" else "manual")
        if self.fuel:
            words.append(FUEL_NAMES[self.fuel] if self.fuel != "diesel" else "a diesel")
        if self.colour:
            words.append(self.colour)
        if self.min_seats:
            words.append(f"com {self.min_seats} lugares")
        if self.max_km is not None:
            words.append(f"com até {format_km(self.max_km)}")
        if self.max_price is not None:
            words.append(f"até {format_brl(self.max_price)}")
        return " ".join(words)

    def shown_details(self) -> tuple[str, ...]:
        """What a listing line should add for this query: the gearbox, fuel, km or seats asked for."""
        details = [
            ("transmission", self.transmission),
            ("fuel", self.fuel),
            ("km", self.max_km is not None),
            ("seats", self.min_seats),
        ]
        return tuple(name for name, asked in details if asked)


class BatchReading(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the rules need to know about one burst."""

    text: str
    greeting: str | None = None
    asks_how_are_you: bool = False
    thanks: bool = False
    opt_out: bool = False
    wants_human: bool = False
    wants_test_drive: bool = False
    asks_price: bool = False
    wants_listing: bool = False
    cancels: bool = False
    queries: list[VehicleQuery] = []
    media_kinds: list[MessageKind] = []
    reactions_only: bool = False
    day: dt.date | None = None
    time: dt.time | None = None
    days: list[DayMention] = []
    order: SearchOrder | None = None
    wants_reschedule: bool = False
    cancels_booking: bool = False
    mentions_test_drive: bool = False
    asks_address: bool = False
    asks_hours: bool = False
    asks_phone: bool = False
    asks_documents: bool = False
    asks_financing: bool = False
    offers_trade_in: bool = False
    wants_comparison: bool = False
    ordinal: int | None = None

    @property
    def asks_about_the_store(self) -> bool:
        return self.asks_address or self.asks_hours or self.asks_phone or self.asks_documents


def fold(text: str) -> str:
    """Lowercase, accents stripped, `_` as space, whitespace collapsed: 'Vocês têm?' -> 'voces tem?'."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(bare.replace("_", " ").split())


def search_key(text: str) -> str:
    """A make or model reduced to letters and digits ('T-Cross' -> 'tcross'); SQL's inventory_key."""
    return re.sub(r"[^a-z0-9]", "", fold(text))


def is_opt_out(message: InboundMessage) -> bool:
    """PARAR, SAIR or STOP alone (any case), or a plain request to stop messaging: "pode parar de me
    mandar mensagem", "não quero mais receber mensagens", "me tira da lista". Never a sentence that
    merely contains a stop word ("não consigo parar de pensar no Compass")."""
    if message.kind not in TYPED_KINDS or not message.text:
        return False
    if message.text.strip().upper() in OPT_OUT_WORDS:
        return True
    folded = fold(message.text)
    return bool(_OPT_OUT_PHRASE.search(folded)) and not _NOT_OPT_OUT.search(folded)


def readable_lines(batch: Iterable[InboundMessage]) -> list[str]:
    """The folded text of each message the customer typed, tapped or captioned."""
    return [
        fold(message.text)
        for message in batch
        if message.text and (message.kind in TYPED_KINDS or message.kind in CAPTIONED_KINDS)
    ]


def read_batch(
    batch: list[InboundMessage], known_models: Iterable[tuple[str, str]], today: dt.date
) -> BatchReading:
    """Read a burst. `known_models` are (make, model) pairs in stock; `today` is the local date."""
    lines = readable_lines(batch)
    text = "\n".join(lines)
    greeting = None
    if match := _TIME_OF_DAY_GREETING.search(text):
        greeting = match.group(1)
    elif any(_GREETING_AT_START.search(line) for line in lines):
        greeting = "ola"
    media_kinds = list(dict.fromkeys(message.kind for message in batch if message.kind in MEDIA_KINDS))
    tapped = {message.reply_id for message in batch if message.reply_id}
    return BatchReading(
        text=text,
        greeting=greeting,
        asks_how_are_you=bool(_HOW_ARE_YOU.search(text)),
        thanks=bool(_THANKS.search(text)),
        opt_out=any(is_opt_out(message) for message in batch),
        wants_human=MenuChoice.TALK_TO_PERSON in tapped or bool(_HUMAN.search(text)),
        wants_test_drive=MenuChoice.BOOK_TEST_DRIVE in tapped or bool(_TEST_DRIVE.search(text)),
        asks_price=bool(_PRICE.search(text)),
        wants_listing=MenuChoice.SEE_CARS in tapped or bool(_LISTING.search(text)),
        cancels=bool(_CANCEL.search(text)),
        queries=find_vehicle_queries(text, known_models),
        media_kinds=media_kinds,
        reactions_only=bool(batch) and all(message.kind == "reaction" for message in batch),
        day=find_day(text, today),
        time=find_time(text),
        days=find_days(text, today),
        order=find_order(text),
        wants_reschedule=bool(_RESCHEDULE.search(text)),
        cancels_booking=bool(_CANCEL_BOOKING.search(text)),
        mentions_test_drive=bool(_MENTIONS_TEST_DRIVE.search(text)),
        asks_address=bool(_ADDRESS.search(text)),
        asks_hours=bool(_HOURS.search(text)),
        asks_phone=bool(_PHONE.search(text)),
        asks_documents=bool(_DOCUMENTS.search(text)),
        asks_financing=bool(_FINANCING.search(text)),
        offers_trade_in=bool(_TRADE_IN.search(text)),
        wants_comparison=bool(_COMPARISON.search(text)),
        ordinal=find_ordinal(text),
    )


def find_ordinal(folded_text: str) -> int | None:
    """A whole answer that picks from a numbered list: 'o primeiro' -> 1, '2' -> 2, 'o último' -> -1."""
    match = _ORDINAL.match(folded_text)
    if not match:
        return None
    word = match.group(1)
    if word.isdigit():
        return int(word)
    return next(number for prefix, number in _ORDINALS.items() if word.startswith(prefix))


def find_vehicle_queries(folded_text: str, known_models: Iterable[tuple[str, str]]) -> list[VehicleQuery]:
    """One query per model mentioned, or one per make, or one for filters alone (year, budget, body type,
    gearbox, fuel, km, colour, seats); else none. The filters narrow every query."""
    year_match = _YEAR.search(folded_text)
    body_match = _BODY.search(folded_text)
    filters = VehicleQuery(
        year=int(year_match.group(1)) if year_match else None,
        max_price=find_budget(folded_text),
        body_type=_body_type(body_match.group(1)) if body_match else None,
        transmission=find_transmission(folded_text),
        fuel=find_fuel(folded_text),
        max_km=find_max_km(folded_text),
        colour=find_colour(folded_text),
        min_seats=find_min_seats(folded_text),
    )
    makes = [
        canonical for alias, canonical in MAKE_ALIASES.items() if re.search(rf"\b{alias}\b", folded_text)
    ]
    models = find_models(folded_text, known_models)
    if models:
        return [
            msgspec.structs.replace(filters, make=make, model=model, body_type=None) for make, model in models
        ]
    if makes:
        return [msgspec.structs.replace(filters, make=make) for make in dict.fromkeys(makes)]
    if filters != VehicleQuery():
        return [filters]
    return []


def find_models(folded_text: str, known_models: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """(make, model) pairs named in the text, in order of appearance; the longest name wins an overlap."""
    catalogue = {search_key(model): (make, model) for make, model in (*POPULAR_MODELS, *known_models)}
    found: list[tuple[int, int, tuple[str, str]]] = []
    for make, model in catalogue.values():
        for match in _model_pattern(model).finditer(folded_text):
            found.append((match.start(), match.end(), (make, model)))
    found.sort(key=lambda hit: (hit[0], -(hit[1] - hit[0])))
    chosen: list[tuple[str, str]] = []
    covered_until = -1
    for start, end, pair in found:
        if start >= covered_until and pair not in chosen:
            chosen.append(pair)
        covered_until = max(covered_until, end)
    return chosen


def find_budget(folded_text: str) -> Decimal | None:
    """'até 120 mil', 'abaixo de R$ 90.000', 'no máximo 80k' -> the amount in reais."""
    match = _BUDGET.search(folded_text)
    if not match:
        return None
    amount = Decimal(match.group(1).replace(".", ""))
    # Nobody buys a car for 120 reais: a bare small number is in thousands.
    if match.group(2) or amount < 1000:
        amount *= 1000
    return amount


@lru_cache(maxsize=1024)
def _model_pattern(model: str) -> re.Pattern[str]:
    # 'T-Cross' -> t[\s-]?cross, 'HB20' -> hb[\s-]?20: customers drop or add the separators.
    pieces = re.findall(r"[a-z]+|\d+", fold(model))
    return re.compile(r"\b" + r"[\s-]?".join(pieces) + r"\b")


def _body_type(word: str) -> str:
    word = re.sub(r"[\s-]", "", word)
    for prefix, body_type in BODY_TYPES.items():
        if word.startswith(prefix):
            return body_type
    return "pickup"
