"""Turning a task's stored payload into its type's Struct, or failing the task for good."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import msgspec

from zapq.background.handlers import PermanentTaskError

PayloadT = TypeVar("PayloadT", bound=msgspec.Struct)


def decode_payload(payload: Mapping[str, Any], payload_type: type[PayloadT]) -> PayloadT:
    """`payload` as `payload_type`; a payload that does not fit will not fit on a retry either."""
    try:
        return msgspec.convert(dict(payload), payload_type)
    except msgspec.ValidationError as error:
        raise PermanentTaskError(f"invalid payload: {error}") from None
