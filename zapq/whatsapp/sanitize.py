"""What a value from a webhook must look like before zapq keeps it: identifier rules and clean text.

A signed body is Meta's, but what is inside it was typed by strangers. PostgreSQL refuses NUL in
`text` and `jsonb`, lone surrogates cannot be encoded as UTF-8, a long id overflows a btree index,
and an id with `?` or `/` would change a Graph URL. So an identifier either matches its `IdRule`
or is not used, and free text is cut to a length and has what no store can hold replaced.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

REPLACEMENT = "\ufffd"

# C0 controls except tab, LF and CR, and lone surrogates (a JSON `\udc80` decodes into one).
_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")  # in a decoded str, any surrogate is a lone one

_SHOWN_CHARS = 80

PG_INTEGER_MIN = -(2**31)
PG_INTEGER_MAX = 2**31 - 1


@dataclass(frozen=True)
class IdRule:
    """An identifier: 1 to `max_chars` characters, each matching `charset` (a regex character class)."""

    what: str
    charset: str
    max_chars: int
    _pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_pattern", re.compile(f"{self.charset}{{1,{self.max_chars}}}"))

    def matches(self, value: str) -> bool:
        # The length first: a 50 MB value is refused without being scanned.
        return 0 < len(value) <= self.max_chars and self._pattern.fullmatch(value) is not None

    def check(self, value: str | None) -> str:
        """Return `value` when it matches; raise ValueError naming the identifier and the rule."""
        if value is None or not self.matches(value):
            raise ValueError(f"{self.what} {shown(value)} is not {self.describe()}")
        return value

    def describe(self) -> str:
        return f"1 to {self.max_chars} characters of {self.charset}"


def clean_text(value: str | None, max_chars: int) -> str | None:
    """`value` cut to `max_chars`, with C0 controls (but tab, CR, LF) and lone surrogates replaced by U+FFFD.

    Cut first, so a 50 MB text costs no more than a short one.
    """
    if value is None:
        return None
    return _UNSTORABLE.sub(REPLACEMENT, value[:max_chars])


def replace_lone_surrogates(document: Any) -> Any:
    """A decoded JSON document with every lone surrogate, in keys and values, replaced by U+FFFD."""
    if isinstance(document, str):
        return _SURROGATE.sub(REPLACEMENT, document)
    if isinstance(document, list):
        return [replace_lone_surrogates(item) for item in document]
    if isinstance(document, dict):
        return {
            replace_lone_surrogates(key): replace_lone_surrogates(value) for key, value in document.items()
        }
    return document


def pg_integer(value: int | None) -> int | None:
    """`value` when a PostgreSQL `integer` holds it, else None."""
    if value is None or not PG_INTEGER_MIN <= value <= PG_INTEGER_MAX:
        return None
    return value


def shown(value: object) -> str:
    """`value` for one line of a log or `skipped`: a repr (controls escaped), cut short when long."""
    if isinstance(value, int) and value.bit_length() > 64:
        return f"a {value.bit_length()}-bit integer"  # repr of a huge int is slow, or raises
    if isinstance(value, str) and len(value) > _SHOWN_CHARS:
        return f"{value[:_SHOWN_CHARS]!r}… ({len(value)} characters)"
    if value is None or isinstance(value, str | int | float):
        return repr(value)
    return f"a {type(value).__name__}"
