"""`SMTP_URL`: where mail goes, how the connection is secured and who logs in, in one string.

`smtp://host[:port]` (25), `smtp://user:password@host:587?starttls=true` (upgraded with STARTTLS
before anything else is said) or `smtps://user:password@host[:port]` (465, TLS from the first
byte). A user without TLS is refused: the password would cross the network in clear text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

SmtpSecurity = Literal["none", "starttls", "tls"]
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    security: SmtpSecurity
    username: str = ""
    password: str = field(default="", repr=False)

    @property
    def shown(self) -> str:
        """The server as a log line may name it: no password."""
        user = f"{self.username}@" if self.username else ""
        return f"{user}{self.host}:{self.port} ({self.security})"


def parse_smtp_url(url: str) -> SmtpServer:
    """The server `url` names; ValueError says what is wrong (never repeating the password)."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError("expected smtp:// or smtps://")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("the port is not a number from 1 to 65535") from None
    if not parts.hostname:
        raise ValueError("no host")
    options = {name: values[-1].lower() for name, values in parse_qs(parts.query).items()}
    unknown = sorted(set(options) - {"starttls"})
    if unknown:
        raise ValueError(f"unknown option {unknown[0]!r} (only starttls)")
    starttls = options.get("starttls", "false")
    if starttls not in _TRUE + _FALSE:
        raise ValueError("starttls must be true or false")
    if parts.scheme == "smtps":
        security: SmtpSecurity = "tls"
    else:
        security = "starttls" if starttls in _TRUE else "none"
    username = unquote(parts.username or "")
    if username and security == "none":
        raise ValueError("a user needs TLS: use smtps:// or ?starttls=true")
    return SmtpServer(
        host=parts.hostname,
        port=port or (465 if security == "tls" else 25),
        security=security,
        username=username,
        password=unquote(parts.password or ""),
    )
