"""Moving or cancelling a test drive the customer already booked: which booking, which new slot, and a
confirmation written only from what the inventory returned.

"preciso remarcar, pode ser domingo às 10h?", "cancela o de sexta", "remarca o do Nivus pra sábado às 11h".
A day written after "de"/"do dia" ("o de sexta") names the booking; any other day is the new slot. A car
named picks the booking by its car. With several bookings and nothing that tells them apart the customer is
asked which, from a numbered list, and the answer ("o primeiro", "2", "o de sexta") is read next turn.
A slot the store is closed in, or in the past, is refused with the reason and the hours, and nothing changes.
"""

from __future__ import annotations

import datetime as dt
import re

from zapq.conversation.answer import Answer
from zapq.conversation.dealership import OpeningHours
from zapq.conversation.engine import BookingChangeDraft, CancelTestDrive, RescheduleTestDrive
from zapq.conversation.formatting import vehicle_name
from zapq.conversation.inventory import InventoryLookup
from zapq.conversation.reading import BatchReading, MenuChoice, search_key
from zapq.conversation.test_drives import TestDrive
from zapq.conversation.when import SAO_PAULO, describe_day, describe_slot, find_time, local_now, slot_problem

# A day right after these words names the booking to change, not the new slot: "o de sexta", "do dia 21".
_NAMES_THE_BOOKING = re.compile(
    r"(?:\bde|\bdo dia|\bdo|\bda|\bmarcad[oa] (?:para|pra)|\bagendad[oa] (?:para|pra))\s*$"
)
NO_BOOKING_TEXT = "Você não tem nenhum test drive agendado no momento."
BOOK_BUTTON = (MenuChoice.BOOK_TEST_DRIVE, "Agendar test drive")


class BookingChanges:
    """Reschedules and cancels a customer's active test drives through `inventory`, within `hours`."""

    def __init__(self, inventory: InventoryLookup, hours: OpeningHours) -> None:
        self.inventory = inventory
        self.hours = hours

    def describe(self, booking: TestDrive) -> str:
        return describe_booking(self.inventory, booking)

    def continue_change(
        self, wa_id: str, action: str, reading: BatchReading, now: dt.datetime, answer: Answer
    ) -> None:
        """Carry the reschedule or cancel this burst asks for (or continues) as far as it can go."""
        change = answer.booking_change
        if change is None or change.action != action:
            change = BookingChangeDraft(action="reschedule" if action == "reschedule" else "cancel")
        intent = change.action
        active = self.inventory.active_test_drives(wa_id)
        if not active:
            answer.booking_change = None
            offer = " Quer agendar um? É só me dizer o carro e o dia." if intent == "reschedule" else ""
            answer.say(NO_BOOKING_TEXT + offer, intent)
            answer.buttons = [BOOK_BUTTON]
            return
        naming_days, new_days = self._split_days(reading, intent)
        chosen = next((booking for booking in active if booking.id == change.test_drive_id), None)
        if chosen is None:
            candidates = self._candidates(active, reading, naming_days)
            if len(candidates) == 1:
                chosen = candidates[0]
            elif not candidates or len(active) > 1:
                self._ask_which(change, active, bool(candidates), new_days, reading, answer)
                return
            else:
                chosen = active[0]
        change.test_drive_id = chosen.id
        if intent == "cancel":
            self._cancel(wa_id, chosen, answer)
        else:
            self._reschedule(wa_id, chosen, change, new_days, reading, now, answer)

    def _split_days(self, reading: BatchReading, intent: str) -> tuple[list[dt.date], list[dt.date]]:
        """(days naming the booking, days for the new slot); a cancel has no new slot."""
        if intent == "cancel":
            return [mention.day for mention in reading.days], []
        naming = [m.day for m in reading.days if _NAMES_THE_BOOKING.search(reading.text[: m.start])]
        new = [m.day for m in reading.days if not _NAMES_THE_BOOKING.search(reading.text[: m.start])]
        if not naming and len(new) >= 2:  # "remarcar sexta para sábado"
            naming, new = new[:1], new[1:]
        return naming, new

    def _candidates(
        self, active: list[TestDrive], reading: BatchReading, naming_days: list[dt.date]
    ) -> list[TestDrive]:
        """The active bookings this burst points at (by position, day or car); all when it names none."""
        if reading.ordinal is not None:
            index = reading.ordinal - 1 if reading.ordinal > 0 else len(active) - 1
            return [active[index]] if 0 <= index < len(active) else []
        candidates = active
        if naming_days:
            candidates = [b for b in candidates if local_now(b.starts_at).date() in naming_days]
        models = {search_key(query.model) for query in reading.queries if query.model}
        if models:
            candidates = [b for b in candidates if self._model_key(b) in models]
        return candidates

    def _model_key(self, booking: TestDrive) -> str | None:
        vehicle = self.inventory.get(booking.vehicle_id) if booking.vehicle_id is not None else None
        return search_key(vehicle.model) if vehicle else None

    def _ask_which(
        self,
        change: BookingChangeDraft,
        active: list[TestDrive],
        matched: bool,
        new_days: list[dt.date],
        reading: BatchReading,
        answer: Answer,
    ) -> None:
        listing = "\n".join(f"{number}. {self.describe(b)}" for number, b in enumerate(active, start=1))
        verb = "remarcar" if change.action == "reschedule" else "cancelar"
        opening = (
            f"Você tem {len(active)} test drives agendados:"
            if matched
            else "Não encontrei esse test drive entre os seus agendamentos. Você tem:"
        )
        if change.action == "reschedule":
            change.day = new_days[-1] if new_days else change.day
            change.time = reading.time or change.time
        change.awaiting = "booking"
        answer.booking_change = change
        answer.say(
            f'{opening}\n{listing}\n\nQual deles você quer {verb}? (ex.: "o primeiro" ou "o de sexta")',
            change.action,
        )

    def _cancel(self, wa_id: str, booking: TestDrive, answer: Answer) -> None:
        answer.booking_change = None
        cancelled = self.inventory.cancel(booking.id, wa_id)
        if cancelled is None or cancelled.status != "cancelled":
            answer.say(
                f"Não consegui cancelar o test drive de {describe_slot(booking.starts_at)}:"
                " ele não está mais ativo. Quer falar com um atendente?",
                "cancel",
            )
            answer.buttons = [(MenuChoice.TALK_TO_PERSON, "Falar com atendente")]
            return
        answer.actions.append(CancelTestDrive(cancelled.id, cancelled.vehicle_id, cancelled.starts_at))
        answer.say(
            f"Pronto, cancelei o seu test drive de {self.describe(cancelled)}."
            " Se quiser marcar outro dia, é só falar.",
            "cancel",
        )

    def _reschedule(
        self,
        wa_id: str,
        booking: TestDrive,
        change: BookingChangeDraft,
        new_days: list[dt.date],
        reading: BatchReading,
        now: dt.datetime,
        answer: Answer,
    ) -> None:
        current = self.describe(booking)
        new_time = reading.time
        if new_time is None and change.awaiting == "slot":
            new_time = find_time(reading.text, bare_hour=True)
        day = new_days[-1] if new_days else change.day
        time = new_time or change.time
        if day is None and new_time is not None:
            day = local_now(booking.starts_at).date()  # "pode ser às 15h?": same day, new time
        answer.booking_change = change
        change.awaiting = "slot"
        if day is None:
            change.time = time
            answer.say(
                f"Seu test drive está marcado para {current}. Para qual dia e horário você quer remarcar?"
                f" Atendemos {self.hours.describe()}.",
                "reschedule",
            )
            return
        problem = None
        if day < now.date():
            problem = "Esse dia já passou."
        elif self.hours.on(day) is None:
            problem = "Nesse dia a loja não abre."
        elif time is not None:
            starts_at = dt.datetime.combine(day, time, tzinfo=SAO_PAULO)
            problem = slot_problem(starts_at, now, self.hours)
            if problem is None:
                self._move(wa_id, booking, starts_at, answer)
                return
        if problem is not None:
            change.day, change.time = (
                (None, time) if problem != "Nesse horário a loja está fechada." else (day, None)
            )
            hours = (
                f"Nesse dia atendemos {self.hours.describe_day(day)}."
                if self.hours.on(day) is not None and day >= now.date()
                else f"Atendemos {self.hours.describe()}."
            )
            answer.say(
                f"Não consigo remarcar para {_slot(day, time)}: {problem[0].lower()}{problem[1:]}"
                f" {hours} Seu test drive continua marcado para {current}. Qual outro"
                f" {'horário' if change.day else 'dia'} fica bom para você?",
                "reschedule",
            )
            return
        change.day, change.time = day, None
        answer.say(
            f"E qual horário para {describe_day(day)}? Nesse dia atendemos {self.hours.describe_day(day)}.",
            "reschedule",
        )

    def _move(self, wa_id: str, booking: TestDrive, starts_at: dt.datetime, answer: Answer) -> None:
        answer.booking_change = None
        moved = self.inventory.reschedule(booking.id, wa_id, starts_at)
        if moved is None:
            answer.say(
                f"Não consegui remarcar: você já tem outro test drive em {describe_slot(starts_at)}."
                f" Seu test drive continua marcado para {self.describe(booking)}.",
                "reschedule",
            )
            return
        answer.actions.append(
            RescheduleTestDrive(moved.id, moved.vehicle_id, moved.starts_at, booking.starts_at)
        )
        answer.say(
            f"Pronto! Remarquei seu test drive para {self.describe(moved)}. Te esperamos na loja!",
            "reschedule",
        )


def describe_booking(inventory: InventoryLookup, booking: TestDrive) -> str:
    """'sexta-feira, 21/11, às 10:00, com o Volkswagen Nivus Highline 1.0 TSI 2022'."""
    vehicle = inventory.get(booking.vehicle_id) if booking.vehicle_id is not None else None
    car = f"com o {vehicle_name(vehicle)}" if vehicle else "com o carro a escolher na loja"
    return f"{describe_slot(booking.starts_at)}, {car}"


def active_booking_lines(inventory: InventoryLookup, wa_id: str) -> list[str]:
    """Every active booking of the customer, described: for the person taking over."""
    return [describe_booking(inventory, booking) for booking in inventory.active_test_drives(wa_id)]


def _slot(day: dt.date, time: dt.time | None) -> str:
    """'domingo, 23/11, às 10:00', or 'domingo, 23/11' without a time."""
    return describe_slot(dt.datetime.combine(day, time, tzinfo=SAO_PAULO)) if time else describe_day(day)
