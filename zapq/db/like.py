"""Text from outside matched literally by SQL `LIKE`/`ILIKE`, not as a pattern of its own."""

from __future__ import annotations


def literal_for_like(text: str) -> str:
    """`text` with LIKE's wildcards (`%`, `_`) and its escape character (`\\`) escaped."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
