"""A real SMTP server on 127.0.0.1 (aiosmtpd), recording what it accepts, for email tests.

Recipients whose local part starts with `recusado` are refused for good (550), with `depois`
for now (450). Optionally STARTTLS with a certificate of a test CA (`trustme`), and AUTH
(only over TLS, as aiosmtpd requires by default) with one user.
"""

from __future__ import annotations

import email
import email.policy
import socket
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    login: str | None

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    def body(self, subtype: str) -> str:
        part = self.message.get_body(preferencelist=(subtype,))
        assert part is not None, f"no text/{subtype} part"
        return str(part.get_content()).replace("\r\n", "\n")  # type: ignore[attr-defined]


@dataclass
class _Recorder:
    received: list[ReceivedMail] = field(default_factory=list)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address.startswith("recusado"):
            return "550 5.1.1 mailbox unavailable"
        if address.startswith("depois"):
            return "450 4.2.1 mailbox busy, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        self.received.append(
            ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), envelope.content, login)
        )
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(
        self, *, tls_context: ssl.SSLContext | None = None, users: dict[str, str] | None = None
    ) -> None:
        self._recorder = _Recorder()
        self.users = users or {}
        options: dict[str, Any] = {}
        if tls_context is not None:
            options.update(tls_context=tls_context, require_starttls=True)
        if users:
            options.update(authenticator=self._authenticate, auth_required=True)
        self.port = _free_port()
        self._controller = Controller(self._recorder, hostname="127.0.0.1", port=self.port, **options)

    @property
    def received(self) -> list[ReceivedMail]:
        return self._recorder.received

    def start(self) -> SmtpServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        accepted = isinstance(auth_data, LoginPassword) and self.users.get(auth_data.login.decode()) == (
            auth_data.password.decode()
        )
        return AuthResult(success=accepted, handled=False, auth_data=auth_data if accepted else None)


def certificate_authority(directory: Path) -> tuple[ssl.SSLContext, Path]:
    """A server TLS context for 127.0.0.1 signed by a CA made now, and that CA's PEM file for the client."""
    import trustme

    authority = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1", "localhost").configure_cert(server_context)
    ca_file = directory / "smtp-ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    return server_context, ca_file


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
