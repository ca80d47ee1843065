"""Who calls the background-task API: a JWT bearer token's organisation, user and role.

HS256 with `JWT_SECRET`, or RS256 with `JWT_PUBLIC_KEY` (which then wins): the algorithm is
the server's choice, never the token's. A token must carry `sub` (the user), `org` (the
organisation) and `exp`; `role: "admin"` opens the queue's stats and cleanup.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jwt

from zapq.settings import Settings

REQUIRED_CLAIMS = ("sub", "org", "exp")
MAX_CLAIM_LENGTH = 128
LEEWAY_S = 10


class Unauthorized(Exception):
    """No token, or one that is malformed, expired or not ours; the message says which."""


class AuthNotConfigured(Exception):
    """Neither JWT_SECRET nor JWT_PUBLIC_KEY is set: the API is off."""


@dataclass(frozen=True)
class Principal:
    organization_id: str
    user_id: str
    admin: bool
    role: str | None = None  # the token's `role` claim as given (the console's roles: web/console/auth.py)


@dataclass(frozen=True)
class TokenVerifier:
    key: str
    algorithm: str

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenVerifier | None:
        if settings.jwt_public_key:
            return cls(_pem(settings.jwt_public_key), "RS256")
        if settings.jwt_secret:
            return cls(settings.jwt_secret, "HS256")
        return None

    def verify(self, authorization: str | None) -> Principal:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("send Authorization: Bearer <JWT>")
        try:
            claims = jwt.decode(
                token.strip(),
                self.key,
                algorithms=[self.algorithm],
                leeway=LEEWAY_S,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("the token has expired") from None
        except jwt.MissingRequiredClaimError as error:
            raise Unauthorized(f"the token has no {error.claim!r} claim") from None
        except jwt.InvalidTokenError as error:
            raise Unauthorized(f"the token is not valid: {error}"[:200]) from None
        organization, user = claims.get("org"), claims.get("sub")
        for name, value in (("org", organization), ("sub", user)):
            if not isinstance(value, str) or not 0 < len(value) <= MAX_CLAIM_LENGTH:
                raise Unauthorized(f"the token's {name!r} claim must be a string of 1 to {MAX_CLAIM_LENGTH}")
        assert isinstance(organization, str) and isinstance(user, str)
        role = claims.get("role")
        role = role if isinstance(role, str) and len(role) <= MAX_CLAIM_LENGTH else None
        return Principal(organization, user, admin=role == "admin", role=role)


def _pem(value: str) -> str:
    """The key itself, or the file it names."""
    if value.lstrip().startswith("-----BEGIN"):
        return value
    return Path(value).read_text()
