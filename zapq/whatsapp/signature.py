"""Meta's webhook authentication: the `X-Hub-Signature-256` HMAC on POSTs and the GET handshake."""

from __future__ import annotations

import hashlib
import hmac
import string
from enum import StrEnum

SIGNATURE_HEADER = "X-Hub-Signature-256"
#: The header zapq signs its own webhooks with (CRM handoffs), the same way Meta signs its, and
#: checks on the generic `POST /webhook`: one scheme for receivers to verify.
ZAPQ_SIGNATURE_HEADER = "X-Zapq-Signature-256"
SIGNATURE_PREFIX = "sha256="
SUBSCRIBE_MODE = "subscribe"


class SignatureProblem(StrEnum):
    """Why a signature is refused; the web's warning names it."""

    MISSING = "missing"  # no header
    MALFORMED = "malformed"  # not `sha256=` and 64 hex digits
    MISMATCH = "mismatch"  # signed with another secret, or the body changed on the way
    NO_SECRET = "no_secret"  # nothing to check against


_HEX_DIGEST_LENGTH = hashlib.sha256().digest_size * 2
_HEX_DIGITS = frozenset(string.hexdigits)


def sign(app_secret: bytes | str, raw_body: bytes) -> str:
    """The `X-Hub-Signature-256` value Meta sends with `raw_body`: `sha256=<hex HMAC-SHA256>`."""
    return SIGNATURE_PREFIX + hmac.new(_as_bytes(app_secret), raw_body, hashlib.sha256).hexdigest()


def verify_signature(app_secret: bytes | str, raw_body: bytes, header_value: str | None) -> bool:
    """True when `header_value` is the HMAC-SHA256 of the exact bytes received, keyed by the app secret.

    False for a missing or malformed header (other prefix, wrong length, not hex) and for an empty
    app secret, since anyone can compute an HMAC keyed by nothing.
    """
    return signature_problem(app_secret, raw_body, header_value) is None


def signature_problem(
    app_secret: bytes | str, raw_body: bytes, header_value: str | None
) -> SignatureProblem | None:
    """Why `verify_signature` refuses, or None when it accepts."""
    key = _as_bytes(app_secret)
    if not key:
        return SignatureProblem.NO_SECRET
    if not header_value:
        return SignatureProblem.MISSING
    if not header_value.startswith(SIGNATURE_PREFIX):
        return SignatureProblem.MALFORMED
    received_hex = header_value[len(SIGNATURE_PREFIX) :]
    if len(received_hex) != _HEX_DIGEST_LENGTH or not _HEX_DIGITS.issuperset(received_hex):
        return SignatureProblem.MALFORMED
    expected = hmac.new(key, raw_body, hashlib.sha256).digest()
    return None if hmac.compare_digest(bytes.fromhex(received_hex), expected) else SignatureProblem.MISMATCH


def verify_handshake(
    mode: str | None, token: str | None, challenge: str | None, expected_token: str
) -> str | None:
    """The `hub.challenge` to echo when Meta subscribes with our verify token, else None.

    An empty `expected_token` (not configured) never matches.
    """
    if mode != SUBSCRIBE_MODE or not expected_token or token is None or not challenge:
        return None
    if not hmac.compare_digest(token.encode(), expected_token.encode()):
        return None
    return challenge


def _as_bytes(secret: bytes | str) -> bytes:
    return secret.encode() if isinstance(secret, str) else secret
