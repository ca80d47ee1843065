"""`Authorization: Bearer <token>`, compared in constant time."""

from __future__ import annotations

import hmac

AUTHORIZATION_HEADER = "authorization"
_SCHEME = "bearer "


def bearer_token_matches(authorization: str | None, expected: str) -> bool:
    """True when the header carries `expected`; never for an empty `expected` (not configured)."""
    if not expected or not authorization or authorization[: len(_SCHEME)].lower() != _SCHEME:
        return False
    given = authorization[len(_SCHEME) :]
    return hmac.compare_digest(given.encode(), expected.encode())
