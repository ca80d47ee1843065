"""Days and times as customers write them ("amanhã", "sábado", "25/11", "às 10h", "14:30").

Relative days are resolved against the dealership's clock (America/Sao_Paulo) at the
moment the customer wrote, not when the engine happens to run.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

SAO_PAULO = ZoneInfo("America/Sao_Paulo")

# weekday -> (opening hour, closing hour); Sunday closed.
OPENING_HOURS: dict[int, tuple[int, int]] = {
    0: (9, 18),
    1: (9, 18),
    2: (9, 18),
    3: (9, 18),
    4: (9, 18),
    5: (9, 13),
}
OPENING_HOURS_TEXT = "de segunda a sexta, das 9h às 18h, e aos sábados, das 9h às 13h"

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
    """
    if match := _NUMERIC_DATE.search(folded_text):
        day, month = int(match.group(1)), int(match.group(2))
        year_text = match.group(3)
        year = (2000 + int(year_text) if len(year_text) == 2 else int(year_text)) if year_text else today.year
        found = _date_or_none(year, month, day)
        if found is not None and found < today and not year_text:
            found = _date_or_none(year + 1, month, day)
        return found
    if "depois de amanha" in folded_text:
        return today + dt.timedelta(days=2)
    if re.search(r"\bamanha\b", folded_text):
        return today + dt.timedelta(days=1)
    if re.search(r"\bhoje\b", folded_text):
        return today
    if match := _WEEKDAY.search(folded_text):
        ahead = (WEEKDAYS[match.group(1)] - today.weekday()) % 7 or 7
        return today + dt.timedelta(days=ahead)
    if match := _DAY_OF_MONTH.search(folded_text):
        day = int(match.group(1))
        found = _date_or_none(today.year, today.month, day)
        if found is None or found < today:
            next_month = (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
            found = _date_or_none(next_month.year, next_month.month, day)
        return found
    return None


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


def slot_problem(starts_at: dt.datetime, now: dt.datetime) -> str | None:
    """Why a test drive cannot start at `starts_at` (PT-BR, for the customer), or None if it can."""
    if starts_at <= now:
        return "Esse horário já passou."
    hours = OPENING_HOURS.get(starts_at.weekday())
    if hours is None:
        return "Nesse dia a loja não abre."
    opens, closes = hours
    if not opens <= starts_at.hour < closes:
        return "Nesse horário a loja está fechada."
    return None


def describe_opening_hours(day: dt.date) -> str:
    """'das 9h às 13h' on a Saturday; the whole week's hours for a day the store is closed."""
    hours = OPENING_HOURS.get(day.weekday())
    return f"das {hours[0]}h às {hours[1]}h" if hours else OPENING_HOURS_TEXT


def day_is_open(day: dt.date) -> bool:
    return day.weekday() in OPENING_HOURS


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
