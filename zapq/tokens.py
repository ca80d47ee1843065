"""`python -m zapq.tokens --org ORG --user USER [--admin | --role agent] [--ttl S]`: a token for local use.

Signed HS256 with `JWT_SECRET` (`make run` made one up under the data dir when it was unset:
`$ZAPQ_DATA_DIR/dev-jwt-secret`), for the background-task API (`/api/background`) and the console
(`/console`).
"""

from __future__ import annotations

import argparse
import sys
import time

import jwt

from zapq.dev_secrets import JWT_SECRET_FILE
from zapq.settings import SettingsError, get_settings

DEFAULT_TTL_S = 86_400


def make_token(
    secret: str,
    *,
    organization_id: str,
    user_id: str,
    admin: bool = False,
    role: str | None = None,
    ttl_s: float = DEFAULT_TTL_S,
    now: float | None = None,
) -> str:
    issued = int(now if now is not None else time.time())
    claims: dict[str, object] = {
        "sub": user_id,
        "org": organization_id,
        "iat": issued,
        "exp": issued + int(ttl_s),
    }
    if admin or role:
        claims["role"] = "admin" if admin else role
    return jwt.encode(claims, secret, algorithm="HS256")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m zapq.tokens", description=__doc__.splitlines()[0])
    parser.add_argument("--org", required=True, help="the organisation (claim `org`)")
    parser.add_argument("--user", required=True, help="the user (claim `sub`)")
    parser.add_argument(
        "--admin", action="store_true", help="role admin: queue stats and cleanup, the console"
    )
    parser.add_argument("--role", choices=["agent"], help="role agent: the console's conversation pages")
    parser.add_argument("--ttl", type=float, default=DEFAULT_TTL_S, help="seconds until it expires")
    args = parser.parse_args(argv)
    try:
        settings = get_settings()
    except SettingsError as error:
        print(f"zapq: {error}", file=sys.stderr)
        return 2
    secret = settings.jwt_secret
    dev_file = settings.data_dir / JWT_SECRET_FILE
    if not secret and dev_file.exists():
        secret = dev_file.read_text().strip()
    if not secret:
        print(f"zapq: set JWT_SECRET (or run `make run` once: it makes up {dev_file})", file=sys.stderr)
        return 2
    print(make_token(secret, organization_id=args.org, user_id=args.user, admin=args.admin, role=args.role,
                     ttl_s=args.ttl))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
