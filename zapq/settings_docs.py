"""docs/configuration.md, written from the settings' own fields so that it cannot drift from them.

`make docs` (`python -m zapq.settings_docs docs/configuration.md`) writes the page; a test
compares the committed page with `configuration_page()`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import msgspec.inspect

from zapq.settings import SETTINGS_DOCS, Settings

INTRODUCTION = """\
# Configuration

Environment variables, parsed once into `zapq.settings.Settings`. A malformed value stops the process with
one line naming the variable. Production values, annotated for operators, are in
[`deploy/zapq.env.example`](../deploy/zapq.env.example); [`deploy/README.md`](../deploy/README.md) says which
must be set.

<!-- Written by `make docs` from the fields of zapq/settings.py: edit the descriptions there. -->
"""


def default_text(default: object) -> str:
    """How the table shows a default: `unset` for an empty string, else the value in backticks."""
    return "unset" if default == "" else f"`{default}`"


def settings_table() -> str:
    info = msgspec.inspect.type_info(Settings)
    assert isinstance(info, msgspec.inspect.StructType)
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for field in info.fields:
        rows.append(
            f"| `{field.encode_name}` | {default_text(field.default)} | {SETTINGS_DOCS[field.encode_name]} |"
        )
    return "\n".join(rows) + "\n"


def configuration_page() -> str:
    return f"{INTRODUCTION}\n{settings_table()}"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m zapq.settings_docs PATH  (writes the configuration page)", file=sys.stderr)
        return 2
    Path(argv[0]).write_text(configuration_page())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
