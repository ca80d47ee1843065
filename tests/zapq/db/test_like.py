"""A customer's or operator's search text is matched as text, never as a LIKE pattern."""

from __future__ import annotations

import psycopg
import pytest

from zapq.db.like import literal_for_like


@pytest.mark.parametrize(
    ("text", "matches", "does_not_match"),
    [("50%", "50% off", "500 off"), ("a_b", "a_b", "axb"), ("c:\\x", "c:\\x", "c:x")],
)
def test_wildcards_and_the_escape_character_match_only_themselves(
    db: psycopg.Connection, text: str, matches: str, does_not_match: str
) -> None:
    pattern = "%" + literal_for_like(text) + "%"
    found = db.execute(
        "SELECT %s LIKE %s, %s LIKE %s", (matches, pattern, does_not_match, pattern)
    ).fetchone()
    assert found == (True, False)
