"""What the dealership wants customers told: where it is, when it opens, how financing works.

Configured by environment variables (`DEALERSHIP_*`, `FINANCING_*` in zapq.settings) and handed to
both engines, so the rules and the LLM give the same address, hours and simulation. Opening hours
are written as a person would: `seg-sex 09:00-18:00; sab 09:00-13:00` (a day not listed is closed).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

import msgspec

if TYPE_CHECKING:
    from zapq.settings import Settings

WEEKDAY_KEYS = ("seg", "ter", "qua", "qui", "sex", "sab", "dom")
WEEKDAY_NAMES = ("segunda", "terça", "quarta", "quinta", "sexta", "sábado", "domingo")
DEFAULT_OPENING_HOURS = "seg-sex 09:00-18:00; sab 09:00-13:00"
CENTS = Decimal("0.01")

_DAYS = r"(seg|ter|qua|qui|sex|sab|dom)(?:\s*-\s*(seg|ter|qua|qui|sex|sab|dom))?"
_HOURS = r"(\d{1,2})(?::(\d{2}))?\s*-\s*(\d{1,2})(?::(\d{2}))?"
_RULE = re.compile(rf"^\s*{_DAYS}\s+{_HOURS}\s*$")


class OpeningHours(msgspec.Struct, frozen=True):
    """Opening and closing time per weekday (0 = Monday); a weekday not in it is closed."""

    by_weekday: dict[int, tuple[dt.time, dt.time]]

    @classmethod
    def parse(cls, text: str) -> OpeningHours:
        """`seg-sex 09:00-18:00; sab 9-13` -> hours per weekday. Raises ValueError naming the bad part."""
        by_weekday: dict[int, tuple[dt.time, dt.time]] = {}
        for rule in filter(None, (part.strip() for part in text.lower().split(";"))):
            match = _RULE.match(_unaccented(rule))
            if not match:
                raise ValueError(f"cannot read {rule!r}: expected e.g. 'seg-sex 09:00-18:00'")
            first, last = WEEKDAY_KEYS.index(match[1]), WEEKDAY_KEYS.index(match[2] or match[1])
            try:
                opens = dt.time(int(match[3]), int(match[4] or 0))
                closes = dt.time(int(match[5]), int(match[6] or 0))
            except ValueError:
                raise ValueError(f"cannot read {rule!r}: not a time of day") from None
            if opens >= closes or last < first:
                raise ValueError(f"cannot read {rule!r}: it must open before it closes, Monday to Sunday")
            for weekday in range(first, last + 1):
                by_weekday[weekday] = (opens, closes)
        if not by_weekday:
            raise ValueError("no opening hours given: the dealership would never open")
        return cls(by_weekday)

    def on(self, day: dt.date) -> tuple[dt.time, dt.time] | None:
        """(opens, closes) on `day`, or None when closed."""
        return self.by_weekday.get(day.weekday())

    def is_open_at(self, moment: dt.datetime) -> bool:
        hours = self.on(moment.date())
        return hours is not None and hours[0] <= moment.time() < hours[1]

    def describe_day(self, day: dt.date) -> str:
        """'das 9h às 13h', or 'fechado'."""
        hours = self.on(day)
        return f"das {_clock(hours[0])} às {_clock(hours[1])}" if hours else "fechado"

    def describe(self) -> str:
        """'de segunda a sexta, das 9h às 18h, e aos sábados, das 9h às 13h'."""
        groups: list[tuple[int, int, tuple[dt.time, dt.time]]] = []
        for weekday in sorted(self.by_weekday):
            hours = self.by_weekday[weekday]
            if groups and groups[-1][1] == weekday - 1 and groups[-1][2] == hours:
                groups[-1] = (groups[-1][0], weekday, hours)
            else:
                groups.append((weekday, weekday, hours))
        parts = [
            f"{_days(first, last)}, das {_clock(hours[0])} às {_clock(hours[1])}"
            for first, last, hours in groups
        ]
        return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + ", e " + parts[-1]


class Financing(msgspec.Struct, frozen=True):
    """An indicative simulation: fixed monthly rate (Price table), a minimum down payment, some terms."""

    partners: tuple[str, ...]
    monthly_rate_pct: Decimal
    terms_months: tuple[int, ...]
    min_down_payment_pct: int

    def installment(self, price: Decimal, down_payment: Decimal, months: int) -> Decimal:
        """The monthly instalment financing `price - down_payment` over `months`, to the cent."""
        principal = max(price - down_payment, Decimal(0))
        rate = self.monthly_rate_pct / 100
        if rate == 0:
            return (principal / months).quantize(CENTS, ROUND_HALF_UP)
        factor = (1 + rate) ** months
        return (principal * rate * factor / (factor - 1)).quantize(CENTS, ROUND_HALF_UP)

    def min_down_payment(self, price: Decimal) -> Decimal:
        return (price * self.min_down_payment_pct / 100).quantize(CENTS, ROUND_HALF_UP)


class Dealership(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    address: str
    phone: str
    opening_hours: OpeningHours
    documents: str
    financing: Financing


def dealership_from_settings(settings: Settings) -> Dealership:
    """The facts as configured; `zapq.settings` has already refused malformed hours and terms."""
    return Dealership(
        name=settings.dealership_name,
        address=settings.dealership_address,
        phone=settings.dealership_phone,
        opening_hours=OpeningHours.parse(settings.dealership_opening_hours),
        documents=settings.dealership_documents,
        financing=Financing(
            partners=tuple(_listed(settings.financing_partners)),
            monthly_rate_pct=Decimal(str(settings.financing_monthly_rate_pct)),
            terms_months=tuple(int(term) for term in _listed(settings.financing_terms_months)),
            min_down_payment_pct=settings.financing_min_down_payment_pct,
        ),
    )


#: The facts when nothing is configured: what tests and the demo use.
def default_dealership() -> Dealership:
    from zapq.settings import Settings

    return dealership_from_settings(Settings())


def _listed(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _clock(moment: dt.time) -> str:
    return f"{moment.hour}h" if moment.minute == 0 else f"{moment.hour}h{moment.minute:02d}"


def _days(first: int, last: int) -> str:
    if first == last:
        return (
            "aos sábados" if first == 5 else "aos domingos" if first == 6 else f"às {WEEKDAY_NAMES[first]}s"
        )
    return f"de {WEEKDAY_NAMES[first]} a {WEEKDAY_NAMES[last]}"


def _unaccented(text: str) -> str:
    return text.replace("á", "a").replace("ç", "c")
