"""Build msgspec's type information for Structs at import, before worker threads exist.

msgspec builds what it needs to convert into a Struct type lazily, on the type's first use.
Two worker threads making that first use at once crashed a worker process (SIGSEGV in
msgspec's `_core`, caught by `make bench` under load: both threads were inside
`msgspec.convert(..., ConversationState)`). Building it while a module is imported, when
the process has a single thread, leaves the threads only cached reads.
"""

from __future__ import annotations

import msgspec


def prepare(*types: type) -> None:
    """Build and cache msgspec's type information for each type (and the types inside it)."""
    for struct_type in types:
        msgspec.json.Decoder(struct_type)
