"""The nesting check alone: exact against a recursive count, and fast on the largest bodies we take."""

from __future__ import annotations

import json
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from web.json_nesting import MAX_JSON_DEPTH, nested_deeper_than

# Strings full of what could confuse a bracket counter: brackets, quotes and backslashes.
tricky_text = st.text(alphabet='[]{}"\\ab\n', max_size=8)
json_values = st.recursive(
    st.none() | st.integers() | tricky_text,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(tricky_text, children, max_size=3),
    max_leaves=40,
)


def depth(value: object) -> int:
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    return 0


@settings(max_examples=300, derandomize=True, database=None)
@given(json_values, st.integers(min_value=0, max_value=12))
def test_the_check_agrees_with_a_recursive_count(value, limit):
    raw = json.dumps(value).encode()

    assert nested_deeper_than(raw, limit) == (depth(value) > limit)


def test_brackets_opened_and_never_closed_count_as_nesting():
    assert nested_deeper_than(b"[" * 100_000, MAX_JSON_DEPTH)
    assert nested_deeper_than(b'{"a":' * 65, MAX_JSON_DEPTH)
    assert not nested_deeper_than(b"[" * 3 + b"}", MAX_JSON_DEPTH)  # malformed, shallow: the decoder's call


def test_brackets_inside_strings_do_not_count():
    assert not nested_deeper_than(json.dumps(["[" * 1000, '\\"[[[', {"{{{": "]]]"}]).encode(), 2)


def test_the_worst_three_mebibytes_take_well_under_a_second():
    unit = b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH  # the most passes over the most bytes
    started = time.perf_counter()

    assert not nested_deeper_than(unit * (3 * 1024 * 1024 // len(unit)), MAX_JSON_DEPTH)
    assert nested_deeper_than(b'"\\"' * 1_000_000 + b"[" * 65, MAX_JSON_DEPTH)

    assert time.perf_counter() - started < 2.0  # 0.4 s on a quiet machine; a regression is quadratic
