"""The SSRF guard: a URL a task was given is reached only at a public address, checked and then pinned.

Anyone who may submit a task chooses where zapq POSTs, from inside the network. So the host is
resolved once, every address it resolves to is checked (a name with one public and one private
address is refused), and the connection goes to the checked address itself: a second lookup at
connect time could answer differently (DNS rebinding). Private, loopback, link-local, shared,
reserved, multicast and unspecified addresses are refused unless `WEBHOOK_ALLOWED_HOSTS` names
the host (or host:port), as a test's receiver on 127.0.0.1 or an intranet system needs.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

import httpx

from zapq.background.handlers import PermanentTaskError

Resolver = Callable[..., list[tuple[Any, ...]]]
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class DestinationUnresolved(Exception):
    """The host did not resolve now; DNS may answer on a retry."""


@dataclass(frozen=True)
class Destination:
    """Where a POST goes: the URL as given, and the checked address the connection must use."""

    url: httpx.URL
    address: str

    @property
    def pinned_url(self) -> httpx.URL:
        """`url` with its host replaced by the checked address (Host header and TLS name stay `url`'s)."""
        return self.url.copy_with(host=self.address)

    @property
    def host_header(self) -> str:
        return self.url.netloc.decode("ascii")

    @property
    def origin(self) -> str:
        """What a log line shows: scheme, host and port, never the path or query (they may hold tokens)."""
        return f"{self.url.scheme}://{self.host_header}"


def is_public(address: Address) -> bool:
    """An address on the public internet: not private, loopback, link-local, shared, reserved or multicast."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def check_destination(
    url_text: str,
    allowed_hosts: Collection[tuple[str, int | None]],
    *,
    resolve: Resolver = socket.getaddrinfo,
) -> Destination:
    """The destination of `url_text`, or PermanentTaskError saying why zapq will not POST there.

    Raises `DestinationUnresolved` when the name does not resolve (worth a retry).
    """
    try:
        url = httpx.URL(url_text)
    except httpx.InvalidURL as error:
        raise PermanentTaskError(f"webhook_url is not a URL: {error}") from None
    if url.scheme not in ("http", "https"):
        raise PermanentTaskError(f"webhook_url must be http:// or https://, not {url.scheme or 'no'} scheme")
    host = url.host.lower().rstrip(".")
    if not host:
        raise PermanentTaskError("webhook_url has no host")
    if url.userinfo:
        raise PermanentTaskError("webhook_url must not carry a user or password")
    port = url.port or (443 if url.scheme == "https" else 80)
    allowed = (host, None) in allowed_hosts or (host, port) in allowed_hosts
    addresses = _resolve(host, port, resolve)
    for address in addresses:
        if not allowed and not is_public(address):
            raise PermanentTaskError(
                f"webhook_url's host {host} is refused: it resolves to {address}, which is not a public"
                " address (WEBHOOK_ALLOWED_HOSTS may allow it)"
            )
    return Destination(url=url, address=str(addresses[0]))


def _resolve(host: str, port: int, resolve: Resolver) -> list[Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        answers = resolve(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise DestinationUnresolved(f"{host} did not resolve: {error}") from None
    addresses: list[Address] = []
    for _family, _kind, _protocol, _name, sockaddr in answers:
        # An IPv6 sockaddr may carry a scope ("fe80::1%eth0"): the scope is not part of the address.
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise DestinationUnresolved(f"{host} resolved to no address")
    return addresses
