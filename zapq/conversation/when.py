"""Days and times as customers write them ("amanhã", "sábado", "25/11", "às 10h", "14:30").

Relative days are resolved against the dealership's clock (America/Sao_Paulo) at the
moment the customer wrote, not when the engine happens to run. Whether the store is open
then is the configured `dealership.OpeningHours`' to say.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import msgspec

from zapq.conversation.dealership import OpeningHours

SAO_PAULO = ZoneInfo("America/Sao_Paulo")

WEEKDAYS = {"segunda": 0, "terca": 1, "quarta": 2, "quinta": 3, "sexta": 4, "sabado": 5, "domingo": 6}
WEEKDAY_NAMES = (
    "segunda-feira",
    "terça-feira",
    "quarta-feira",
    "quinta-feira",
    "sexta-feira",
    "sábado",
    "domingo",
)

_NUMERIC_DATE = re.compile(r"(?<!\d)(\d{1,2})/(\d{1,2})(?:/(\d{2}|\d{4}))?(?!\d)")
_DAY_OF_MONTH = re.compile(r"\bdia (\d{1,2})(?![\d/])")
_WEEKDAY = re.compile(r"\b(segunda|terca|quarta|quinta|sexta|sabado|domingo)\b")
_RELATIVE_DAY = re.compile(r"\b(depois de amanha|amanha|hoje)\b")
_PRIORITY = {"date": 0, "relative": 1, "weekday": 2, "day_of_month": 3}
_HOUR = r"(?<![\d/.,])([01]?\d|2[0-3])"
_HOUR_AND_MINUTES = re.compile(_HOUR + r"\s*(?::|h)\s*([0-5]\d)\b")
_HOUR_WITH_UNIT = re.compile(_HOUR + r"\s*(?:h|hs|hrs|horas?)\b")
_HOUR_AFTER_AT = re.compile(r"\b(?:as|das|pelas|umas|a partir das)\s+" + _HOUR + r"\b(?!\s*(?:/|mil\b|k\b))")
_BARE_HOUR = re.compile(r"^\s*([01]?\d|2[0-3])\s*$", re.MULTILINE)
_NOON = re.compile(r"\bmeio[\s-]?dia\b")
_AFTERNOON = re.compile(r"\bda (?:tarde|noite)\b")


def local_now(moment: dt.datetime) -> dt.datetime:
    """`moment` on the dealership's clock; a naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(SAO_PAULO)


def find_day(folded_text: str, today: dt.date) -> dt.date | None:
    """The day a folded (lowercase, unaccented) text asks for, or None.

    A weekday means its next occurrence after today ("sábado" said on a Saturday is next
    week's: customers say "hoje" for today). A date without a year that has passed means next year's.
    A numeric date wins over a relative day, which wins over a weekday, whatever their order.
    """
    days = find_days(folded_text, today)
    return min(days, key=lambda found: (_PRIORITY[found.how], found.start)).day if days else None


class DayMention(msgspec.Struct, frozen=True):
    """A day named in a text: where (`start`, `end` in the folded text), which, and how it was written."""

    start: int
    end: int
    day: dt.date
    how: str  # "date", "relative", "weekday" or "day_of_month"


def find_days(folded_text: str, today: dt.date) -> list[DayMention]:
    """Every day a folded text names, in order of appearance ("o de sexta para sábado": two)."""
    found: list[DayMention] = []
    for match in _NUMERIC_DATE.finditer(folded_text):
        day, month = int(match.group(1)), int(match.group(2))
        year_text = match.group(3)
        year = (2000 + int(year_text) if len(year_text) == 2 else int(year_text)) if year_text else today.year
        date = _date_or_none(year, month, day)
        if date is not None and date < today and not year_text:
            date = _date_or_none(year + 1, month, day)
        if date is not None:
            found.append(DayMention(match.start(), match.end(), date, "date"))
    for match in _RELATIVE_DAY.finditer(folded_text):
        ahead = {"depois de amanha": 2, "amanha": 1, "hoje": 0}[match.group(1)]
        found.append(DayMention(match.start(), match.end(), today + dt.timedelta(days=ahead), "relative"))
    for match in _WEEKDAY.finditer(folded_text):
        ahead = (WEEKDAYS[match.group(1)] - today.weekday()) % 7 or 7
        found.append(DayMention(match.start(), match.end(), today + dt.timedelta(days=ahead), "weekday"))
    for match in _DAY_OF_MONTH.finditer(folded_text):
        day = int(match.group(1))
        date = _date_or_none(today.year, today.month, day)
        if date is None or date < today:
            next_month = (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
            date = _date_or_none(next_month.year, next_month.month, day)
        if date is not None:
            found.append(DayMention(match.start(), match.end(), date, "day_of_month"))
    return sorted(found, key=lambda mention: mention.start)


def find_time(folded_text: str, *, bare_hour: bool = False) -> dt.time | None:
    """The time of day a folded text asks for ("10h", "14:30", "às 3 da tarde", "meio-dia"), or None.

    With `bare_hour`, a message that is only a number ("10") is an hour too: the answer to
    "what time?".
    """
    if match := _HOUR_AND_MINUTES.search(folded_text):
        hour, minutes = int(match.group(1)), int(match.group(2))
    elif match := (
        _HOUR_WITH_UNIT.search(folded_text)
        or _HOUR_AFTER_AT.search(folded_text)
        or (_BARE_HOUR.search(folded_text) if bare_hour else None)
    ):
        hour, minutes = int(match.group(1)), 0
    elif _NOON.search(folded_text):
        return dt.time(12, 0)
    else:
        return None
    if hour < 12 and _AFTERNOON.search(folded_text):
        hour += 12
    return dt.time(hour, minutes)


def slot_problem(starts_at: dt.datetime, now: dt.datetime, hours: OpeningHours) -> str | None:
    """Why a test drive cannot start at `starts_at` (PT-BR, for the customer), or None if it can."""
    if starts_at <= now:
        return "Esse horário já passou."
    local = local_now(starts_at)
    if hours.on(local.date()) is None:
        return "Nesse dia a loja não abre."
    if not hours.is_open_at(local.replace(tzinfo=None)):
        return "Nesse horário a loja está fechada."
    return None


def describe_day(day: dt.date) -> str:
    """'sábado, 22/11'."""
    return f"{WEEKDAY_NAMES[day.weekday()]}, {day:%d/%m}"


def describe_slot(starts_at: dt.datetime) -> str:
    """'sábado, 22/11, às 10:00'."""
    local = local_now(starts_at)
    return f"{describe_day(local.date())}, às {local:%H:%M}"


def _date_or_none(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None
