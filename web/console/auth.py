"""Who calls the console's JSON API (`/api/console/...`), and whether they may.

Two kinds of caller: the operator, with the admin token (`ADMIN_API_TOKEN`) or a JWT whose
`role` is `admin`, sees everything; a human agent of the sales team, with a JWT whose `role`
is `agent`, sees the conversation pages and its own organisation's tasks. JWTs are checked as
the background-task API checks them (web/background/auth.py: `JWT_SECRET` or `JWT_PUBLIC_KEY`,
with `sub`, `org`, `exp`). A wrong or missing token is refused after the admin API's growing delay
(web/auth_throttle.py), so neither kind of token can be guessed at network speed.

Every console endpoint starts with `caller_or_refusal(request, Role.X)`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from enum import StrEnum

from starlette.requests import Request
from starlette.responses import Response

from web.auth_throttle import FailedAuthThrottle
from web.background.auth import TokenVerifier, Unauthorized
from web.bearer import AUTHORIZATION_HEADER, bearer_token_matches
from web.responses import error_response

logger = logging.getLogger(__name__)

#: The name the admin token acts under in the action log.
ADMIN_TOKEN_ACTOR = "admin"


class Role(StrEnum):
    """What a caller may see: an admin everything; an agent the conversations, its organisation's tasks."""

    ADMIN = "admin"
    AGENT = "agent"


@dataclass(frozen=True)
class Caller:
    """Who is calling: `actor` is "admin" for the admin token, else the JWT's `sub`."""

    actor: str
    role: Role
    organization_id: str | None = None  # a JWT's `org`; None for the admin token

    def may(self, role: Role) -> bool:
        return self.role is Role.ADMIN or self.role is role


async def caller_or_refusal(request: Request, role: Role) -> Caller | Response:
    """The caller, when allowed pages of `role` (an admin is allowed every role); else the 401/403 to answer.

    Usage, at the top of every console endpoint:

        caller = await caller_or_refusal(request, Role.ADMIN)
        if isinstance(caller, Response):
            return caller
    """
    caller = await authenticate(request)
    if isinstance(caller, Response):
        return caller
    if not caller.may(role):
        detail = f"this needs the {role.value} role; yours is {caller.role.value}"
        return error_response(403, "forbidden", detail)
    return caller


async def authenticate(request: Request) -> Caller | Response:
    """The caller behind the bearer token, whatever its role; else the 401 (after a delay) or 403."""
    settings = request.app.state.settings
    verifier = TokenVerifier.from_settings(settings)
    admin_token: str = settings.admin_api_token
    if not admin_token and verifier is None:
        return error_response(
            403, "console_disabled", "set ADMIN_API_TOKEN (or JWT_SECRET / JWT_PUBLIC_KEY) to use the console"
        )
    throttle: FailedAuthThrottle = request.app.state.admin_auth_throttle
    client = request.client.host if request.client else "unknown"
    authorization = request.headers.get(AUTHORIZATION_HEADER)
    if bearer_token_matches(authorization, admin_token):
        throttle.record_success(client)
        return Caller(ADMIN_TOKEN_ACTOR, Role.ADMIN)
    reason = "Authorization: Bearer <ADMIN_API_TOKEN or JWT> is missing or wrong"
    if verifier is not None and authorization and authorization.count(".") == 2:  # a JWT's shape
        try:
            principal = verifier.verify(authorization)
        except Unauthorized as error:
            reason = str(error)
        else:
            throttle.record_success(client)
            try:
                role = Role(principal.role or "")
            except ValueError:
                return error_response(
                    403, "forbidden", "the token's role claim must be admin or agent to use the console"
                )
            return Caller(principal.user_id, role, principal.organization_id)
    failures = throttle.record_failure(client)
    delay_s = throttle.delay_s(failures)
    logger.warning(
        "console: wrong or missing token from %s (%d in a row); refused in %.1f s", client, failures, delay_s
    )
    await asyncio.sleep(delay_s)
    return error_response(401, "unauthorized", reason)
