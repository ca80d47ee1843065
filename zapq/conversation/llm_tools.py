"""The tools the LLM engine offers the model: the only way its turn reads the stock or changes a booking.

Each tool's arguments are a msgspec Struct; its JSON schema (what the model is shown) is generated
from the same Struct that validates the call, so the two cannot drift. A call with bad arguments, a
slot outside the opening hours or a booking that is not the customer's gets an `{"error": ...}` result
the model can read and act on; nothing a model writes raises out of `BurstTools.run`.

`BurstTools` serves one burst: it records what the tools actually did (bookings made, moved and
cancelled, a handoff or opt-out asked for), which is what the engine reports as actions and checks
the model's final text against.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from zapq.conversation.dealership import Dealership
from zapq.conversation.engine import Action, BookTestDrive, CancelTestDrive, RescheduleTestDrive
from zapq.conversation.formatting import format_brl, vehicle_name
from zapq.conversation.inventory import InventoryLookup, SearchOrder
from zapq.conversation.llm_protocol import ToolCall
from zapq.conversation.reading import MAKE_ALIASES, VehicleQuery, fold
from zapq.conversation.test_drives import TestDrive
from zapq.conversation.vehicle import Vehicle
from zapq.conversation.when import SAO_PAULO, describe_day, describe_slot, local_now

MAX_DAYS_AHEAD = 60
MAX_SEARCH_RESULTS = 10
DEFAULT_SEARCH_RESULTS = 5

Day = Annotated[dt.date, Meta(description="Dia no horário de São Paulo, AAAA-MM-DD.")]
ClockTime = Annotated[
    str, Meta(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="Hora no horário de São Paulo, HH:MM (24h).")
]
VehicleId = Annotated[int, Meta(ge=1, description="O id do carro, como search_vehicles o devolve.")]
TestDriveId = Annotated[
    int, Meta(ge=1, description="O id do test drive, como list_my_test_drives o devolve.")
]
ShortText = Annotated[str, Meta(max_length=60)]


class _Arguments(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    pass


class SearchVehicles(_Arguments):
    """Busca carros disponíveis no estoque. Todos os filtros são opcionais e se somam."""

    make: ShortText | None = None
    model: ShortText | None = None
    year: Annotated[int, Meta(ge=1980, le=2100)] | None = None
    max_price: Annotated[float, Meta(gt=0, description="Preço máximo em reais.")] | None = None
    body_type: Literal["hatch", "sedan", "suv", "pickup"] | None = None
    transmission: Literal["manual", "automatic"] | None = None
    fuel: Literal["flex", "gasoline", "diesel", "hybrid", "electric"] | None = None
    max_km: Annotated[int, Meta(ge=0)] | None = None
    colour: ShortText | None = None
    min_seats: Annotated[int, Meta(ge=1, le=9)] | None = None
    order: Literal["cheapest", "dearest", "newest", "least_km"] = "cheapest"
    limit: Annotated[int, Meta(ge=1, le=MAX_SEARCH_RESULTS)] = DEFAULT_SEARCH_RESULTS


class GetVehicle(_Arguments):
    """Todos os detalhes de um carro pelo id, inclusive a descrição e se ainda está disponível."""

    vehicle_id: VehicleId


class ListMyTestDrives(_Arguments):
    """Os test drives ativos (agendados ou remarcados) deste cliente, com seus ids."""


class BookTestDriveArguments(_Arguments):
    """Agenda um test drive. Só chame quando o cliente confirmou dia e hora. Sem vehicle_id, o cliente
    escolhe o carro na loja."""

    date: Day
    time: ClockTime
    vehicle_id: VehicleId | None = None


class RescheduleTestDriveArguments(_Arguments):
    """Muda o dia e a hora de um test drive ativo do cliente."""

    test_drive_id: TestDriveId
    date: Day
    time: ClockTime


class CancelTestDriveArguments(_Arguments):
    """Cancela um test drive ativo do cliente."""

    test_drive_id: TestDriveId


class SimulateFinancing(_Arguments):
    """Simulação indicativa de financiamento de um carro (parcela fixa); sujeita a análise de crédito."""

    vehicle_id: VehicleId
    down_payment: (
        Annotated[float, Meta(ge=0, description="Entrada em reais; sem ela, a entrada mínima.")] | None
    ) = None
    months: Annotated[int, Meta(ge=1, le=120, description="Prazo; sem ele, todos os prazos.")] | None = None


class HandOffToPerson(_Arguments):
    """Passa a conversa para um atendente humano: quando o cliente pede, ou quando você não sabe ajudar."""

    reason: Annotated[str, Meta(min_length=1, max_length=200, description="Por que, em poucas palavras.")]
    note: Annotated[str, Meta(max_length=600, description="O que o atendente deve saber primeiro.")] = ""


class OptOutOfMessages(_Arguments):
    """O cliente pediu para não receber mais mensagens."""


TOOL_ARGUMENTS: dict[str, type[_Arguments]] = {
    "search_vehicles": SearchVehicles,
    "get_vehicle": GetVehicle,
    "list_my_test_drives": ListMyTestDrives,
    "book_test_drive": BookTestDriveArguments,
    "reschedule_test_drive": RescheduleTestDriveArguments,
    "cancel_test_drive": CancelTestDriveArguments,
    "simulate_financing": SimulateFinancing,
    "hand_off_to_person": HandOffToPerson,
    "opt_out_of_messages": OptOutOfMessages,
}


def tool_specs() -> list[dict[str, Any]]:
    """The `tools` of a chat-completions request, from the argument Structs."""
    specs = []
    for name, arguments in TOOL_ARGUMENTS.items():
        schema = msgspec.json.schema(arguments)
        parameters = dict(schema["$defs"][arguments.__name__])
        description = " ".join(parameters.pop("description", "").split())
        parameters.pop("title", None)
        parameters.setdefault("properties", {})
        specs.append(
            {
                "type": "function",
                "function": {"name": name, "description": description, "parameters": parameters},
            }
        )
    return specs


TOOL_SPECS = tool_specs()


class ToolError(Exception):
    """What the model is told went wrong with its call (PT-BR: it may repeat it to the customer)."""


@dataclass(frozen=True)
class Booked:
    test_drive_id: int
    vehicle: Vehicle | None
    starts_at: dt.datetime


@dataclass(frozen=True)
class Rescheduled:
    test_drive: TestDrive
    vehicle: Vehicle | None
    previous_starts_at: dt.datetime


@dataclass(frozen=True)
class Cancelled:
    test_drive: TestDrive
    vehicle: Vehicle | None


Change = Booked | Rescheduled | Cancelled


@dataclass(frozen=True)
class HandoffRequest:
    reason: str
    note: str


@dataclass
class BurstTools:
    """The tools for one customer's burst; `now` is the dealership's clock when the customer wrote."""

    wa_id: str
    now: dt.datetime
    inventory: InventoryLookup
    dealership: Dealership
    changes: list[Change] = field(default_factory=list)
    handoff: HandoffRequest | None = None
    opted_out: bool = False
    searched: list[VehicleQuery] = field(default_factory=list)

    def run(self, call: ToolCall) -> str:
        """The JSON result of one call: what the tool found or did, or `{"error": ...}`.

        A database error is not the model's to handle: it propagates, and the burst is retried (every
        tool repeats safely).
        """
        arguments_type = TOOL_ARGUMENTS.get(call.function.name)
        if arguments_type is None:
            return _error(
                f"ferramenta desconhecida: {call.function.name!r}; use uma de {', '.join(TOOL_ARGUMENTS)}"
            )
        try:
            arguments = msgspec.json.decode(call.function.arguments or "{}", type=arguments_type)
        except (msgspec.DecodeError, msgspec.ValidationError) as error:
            return _error(f"argumentos inválidos para {call.function.name}: {error}")
        try:
            result = self._dispatch(arguments)
        except ToolError as error:
            return _error(str(error))
        return msgspec.json.encode(result).decode()

    def actions(self) -> list[Action]:
        """What the tools stored, for calendars and CRMs (handoff and opt-out are the engine's to add)."""
        actions: list[Action] = []
        for change in self.changes:
            vehicle_id = change.vehicle.id if change.vehicle else None
            if isinstance(change, Booked):
                actions.append(BookTestDrive(vehicle_id=vehicle_id, starts_at=change.starts_at))
            elif isinstance(change, Rescheduled):
                drive = change.test_drive
                actions.append(
                    RescheduleTestDrive(
                        test_drive_id=drive.id,
                        vehicle_id=vehicle_id,
                        starts_at=drive.starts_at,
                        previous_starts_at=change.previous_starts_at,
                    )
                )
            else:
                drive = change.test_drive
                actions.append(
                    CancelTestDrive(test_drive_id=drive.id, vehicle_id=vehicle_id, starts_at=drive.starts_at)
                )
        return actions

    def confirmations(self) -> list[str]:
        """One PT-BR sentence per change, written from the stored rows: what the customer is told when
        the model cannot be trusted to say it."""
        lines = []
        for change in self.changes:
            car = f" do {vehicle_name(change.vehicle)}" if change.vehicle else ""
            if isinstance(change, Booked):
                lines.append(f"Seu test drive{car} está agendado para {describe_slot(change.starts_at)}.")
            elif isinstance(change, Rescheduled):
                lines.append(
                    f"Seu test drive{car} foi remarcado para {describe_slot(change.test_drive.starts_at)}."
                )
            else:
                lines.append(
                    f"Seu test drive{car} de {describe_slot(change.test_drive.starts_at)} foi cancelado."
                )
        return lines

    def describe_active(self) -> list[str]:
        """The customer's active bookings as the model is told them: 'id 7: sábado, 22/11, às 10:00, ...'."""
        lines = []
        for drive in self._active():
            facts = self._drive_facts(drive)
            moved = " (remarcado)" if drive.status == "rescheduled" else ""
            lines.append(f"id {drive.id}: {facts['when']}, {facts['vehicle']}{moved}")
        return lines

    def soonest_booking(self) -> str | None:
        """The next active booking as the rule-based engine notes it: 'sábado, 22/11, às 10:00 (car)'."""
        for drive in self._active():
            vehicle = self.inventory.get(drive.vehicle_id) if drive.vehicle_id is not None else None
            slot = describe_slot(drive.starts_at)
            return f"{slot} ({vehicle_name(vehicle)})" if vehicle else slot
        return None

    def _dispatch(self, arguments: _Arguments) -> dict[str, Any]:
        match arguments:
            case SearchVehicles():
                return self._search(arguments)
            case GetVehicle(vehicle_id=vehicle_id):
                return {"vehicle": vehicle_facts(self._vehicle(vehicle_id, available=False))}
            case ListMyTestDrives():
                return {"test_drives": [self._drive_facts(drive) for drive in self._active()]}
            case BookTestDriveArguments():
                return self._book(arguments)
            case RescheduleTestDriveArguments():
                return self._reschedule(arguments)
            case CancelTestDriveArguments(test_drive_id=test_drive_id):
                return self._cancel(test_drive_id)
            case SimulateFinancing():
                return self._simulate(arguments)
            case HandOffToPerson(reason=reason, note=note):
                self.handoff = HandoffRequest(reason=reason.strip(), note=note.strip())
                return {"ok": True, "next": "Diga ao cliente que um atendente vai falar com ele em breve."}
            case OptOutOfMessages():
                self.opted_out = True
                return {"ok": True, "next": "Confirme que ele não vai mais receber mensagens."}
        raise ToolError(f"ferramenta sem implementação: {type(arguments).__name__}")  # pragma: no cover

    def _search(self, arguments: SearchVehicles) -> dict[str, Any]:
        max_price = Decimal(str(arguments.max_price)) if arguments.max_price is not None else None
        order: SearchOrder = arguments.order
        # The model passes on what the customer typed: "VW", "Chevy".
        make = MAKE_ALIASES.get(fold(arguments.make), arguments.make) if arguments.make else None
        vehicles = self.inventory.search(
            make=make,
            model=arguments.model,
            year=arguments.year,
            max_price=max_price,
            body_type=arguments.body_type,
            transmission=arguments.transmission,
            fuel=arguments.fuel,
            max_km=arguments.max_km,
            colour=arguments.colour,
            min_seats=arguments.min_seats,
            order=order,
            limit=arguments.limit,
        )
        if arguments.make or arguments.model:
            self.searched.append(
                VehicleQuery(
                    make=arguments.make, model=arguments.model, year=arguments.year, max_price=max_price
                )
            )
        return {"count": len(vehicles), "vehicles": [vehicle_facts(vehicle) for vehicle in vehicles]}

    def _book(self, arguments: BookTestDriveArguments) -> dict[str, Any]:
        starts_at = self._slot(arguments.date, arguments.time)
        vehicle = self._vehicle(arguments.vehicle_id, available=True) if arguments.vehicle_id else None
        test_drive_id = self.inventory.book(self.wa_id, vehicle.id if vehicle else None, starts_at)
        self.changes.append(Booked(test_drive_id, vehicle, starts_at))
        return {"ok": True, "test_drive": self._slot_facts(test_drive_id, vehicle, starts_at, "booked")}

    def _reschedule(self, arguments: RescheduleTestDriveArguments) -> dict[str, Any]:
        current = self._own_active(arguments.test_drive_id)
        starts_at = self._slot(arguments.date, arguments.time)
        moved = self.inventory.reschedule(current.id, self.wa_id, starts_at)
        if moved is None:
            raise ToolError("o cliente já tem outro test drive nesse horário; escolha outro")
        vehicle = self.inventory.get(moved.vehicle_id) if moved.vehicle_id is not None else None
        if moved.starts_at != current.starts_at:
            self.changes.append(Rescheduled(moved, vehicle, current.starts_at))
        return {"ok": True, "test_drive": self._drive_facts(moved)}

    def _cancel(self, test_drive_id: int) -> dict[str, Any]:
        current = self._own_active(test_drive_id)
        cancelled = self.inventory.cancel(current.id, self.wa_id)
        if cancelled is None:  # closed by the dealership between the two reads
            raise ToolError(f"o test drive {test_drive_id} não está mais ativo")
        vehicle = self.inventory.get(cancelled.vehicle_id) if cancelled.vehicle_id is not None else None
        self.changes.append(Cancelled(cancelled, vehicle))
        return {"ok": True, "test_drive": self._drive_facts(cancelled)}

    def _simulate(self, arguments: SimulateFinancing) -> dict[str, Any]:
        financing = self.dealership.financing
        vehicle = self._vehicle(arguments.vehicle_id, available=True)
        minimum = financing.min_down_payment(vehicle.price)
        down_payment = (
            Decimal(str(arguments.down_payment)).quantize(Decimal("0.01"), ROUND_HALF_UP)
            if arguments.down_payment is not None
            else minimum
        )
        if down_payment < minimum:
            raise ToolError(
                f"a entrada mínima é de {financing.min_down_payment_pct}%"
                f" ({format_brl(minimum)}) para este carro"
            )
        if down_payment >= vehicle.price:
            raise ToolError("com essa entrada o carro sai à vista: não há o que financiar")
        terms = financing.terms_months
        if arguments.months is not None:
            if arguments.months not in terms:
                raise ToolError(f"prazos possíveis: {', '.join(str(term) for term in terms)} meses")
            terms = (arguments.months,)
        return {
            "indicative": True,
            "note": "Simulação indicativa, sujeita a análise de crédito pelos parceiros.",
            "vehicle": vehicle_name(vehicle),
            "price": format_brl(vehicle.price),
            "down_payment": format_brl(down_payment),
            "monthly_rate_pct": str(financing.monthly_rate_pct),
            "partners": list(financing.partners),
            "installments": [
                {
                    "months": months,
                    "installment": format_brl(financing.installment(vehicle.price, down_payment, months)),
                }
                for months in terms
            ],
        }

    def _slot(self, day: dt.date, time_text: str) -> dt.datetime:
        """The São Paulo moment a booking asks for, if the store takes test drives then."""
        hour, minute = (int(part) for part in time_text.split(":"))
        starts_at = dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SAO_PAULO)
        hours = self.dealership.opening_hours
        if starts_at <= self.now:
            raise ToolError(f"esse horário já passou (agora são {self.now:%d/%m/%Y %H:%M})")
        if day > self.now.date() + dt.timedelta(days=MAX_DAYS_AHEAD):
            raise ToolError(f"só agendamos test drives para os próximos {MAX_DAYS_AHEAD} dias")
        if hours.on(day) is None:
            raise ToolError(f"a loja não abre em {describe_day(day)} (horário da loja: {hours.describe()})")
        if not hours.is_open_at(starts_at):
            raise ToolError(
                f"a loja está fechada nesse horário:"
                f" em {describe_day(day)} atendemos {hours.describe_day(day)}"
            )
        return starts_at

    def _vehicle(self, vehicle_id: int, *, available: bool) -> Vehicle:
        vehicle = self.inventory.get(vehicle_id)
        if vehicle is None:
            raise ToolError(f"não existe carro com id {vehicle_id}; use search_vehicles")
        if available and vehicle.status != "available":
            raise ToolError(f"o {vehicle_name(vehicle)} não está mais disponível ({vehicle.status})")
        return vehicle

    def _active(self) -> list[TestDrive]:
        return self.inventory.active_test_drives(self.wa_id)

    def _own_active(self, test_drive_id: int) -> TestDrive:
        for drive in self._active():
            if drive.id == test_drive_id:
                return drive
        raise ToolError(f"o cliente não tem test drive ativo com id {test_drive_id}; use list_my_test_drives")

    def _drive_facts(self, drive: TestDrive) -> dict[str, Any]:
        vehicle = self.inventory.get(drive.vehicle_id) if drive.vehicle_id is not None else None
        return self._slot_facts(drive.id, vehicle, drive.starts_at, drive.status)

    @staticmethod
    def _slot_facts(
        test_drive_id: int, vehicle: Vehicle | None, starts_at: dt.datetime, status: str
    ) -> dict[str, Any]:
        local = local_now(starts_at)
        return {
            "id": test_drive_id,
            "status": status,
            "vehicle": vehicle_name(vehicle) if vehicle else "a escolher na loja",
            "vehicle_id": vehicle.id if vehicle else None,
            "date": local.date().isoformat(),
            "time": f"{local:%H:%M}",
            "when": describe_slot(starts_at),
        }


def vehicle_facts(vehicle: Vehicle) -> dict[str, Any]:
    """A car as the model reads it; the price already written as the customer should see it."""
    return {
        "id": vehicle.id,
        "name": vehicle_name(vehicle),
        "year": vehicle.year,
        "price": format_brl(vehicle.price),
        "colour": vehicle.colour,
        "body_type": vehicle.body_type,
        "transmission": vehicle.transmission,
        "fuel": vehicle.fuel,
        "km": vehicle.km,
        "seats": vehicle.seats,
        "status": vehicle.status,
        "description": vehicle.description,
    }


def _error(message: str) -> str:
    return msgspec.json.encode({"error": message}).decode()
