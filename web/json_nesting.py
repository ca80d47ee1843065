"""Refuse JSON nested too deep before decoding it: decoders recurse, and ~1000 levels is a RecursionError.

Measured without a Python loop over the bytes, so a 3 MiB body costs milliseconds: escapes and
strings are cut out with regexes, everything but brackets is deleted with `bytes.translate`, and
then each pass of `bytes.replace` removes the innermost `[]` pairs (objects count as arrays here).
Valid JSON nested at most `max_depth` deep is empty after `max_depth` passes.
"""

from __future__ import annotations

import re

from starlette.responses import JSONResponse

from web.responses import error_response

MAX_JSON_DEPTH = 64  # WhatsApp notifications nest about 8 deep; the generic event 1

_ESCAPE = re.compile(rb"\\.", re.DOTALL)  # first, so that no `\"` is left to end a string early
_STRING = re.compile(rb'"[^"]*"')
_OBJECTS_AS_ARRAYS = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in b"[]{}")


def nested_deeper_than(raw_body: bytes, max_depth: int) -> bool:
    """True when the arrays and objects of `raw_body` nest more than `max_depth` levels deep.

    Also true for a body that opens more than `max_depth` brackets it never closes: a decoder
    would recurse into them before it finds the body malformed. Other malformed bodies are
    left to the decoder to refuse.
    """
    brackets = _STRING.sub(b"", _ESCAPE.sub(b"", raw_body)).translate(_OBJECTS_AS_ARRAYS, _NOT_BRACKETS)
    if brackets.count(b"[") <= max_depth:
        return False
    passes = 0
    while passes < max_depth:
        inner_removed = brackets.replace(b"[]", b"")
        if len(inner_removed) == len(brackets):
            break
        brackets, passes = inner_removed, passes + 1
    # What is left either still nests (a pair remains after max_depth passes), or is `]]][[[`:
    # brackets never closed, each one level deeper than the passes already taken.
    return b"[]" in brackets or passes + brackets.count(b"[") > max_depth


def too_deep_refusal(raw_body: bytes, max_depth: int = MAX_JSON_DEPTH) -> JSONResponse | None:
    """The 400 for a body nested deeper than `max_depth`, or None when it may be decoded."""
    if not nested_deeper_than(raw_body, max_depth):
        return None
    return error_response(400, "json_too_deep", f"JSON may nest at most {max_depth} levels deep")
