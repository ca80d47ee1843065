"""The SSRF guard: only public addresses, checked after DNS, connected to as checked; allowances by host."""

from __future__ import annotations

import socket

import pytest

from tests.support.http_peer import CannedResponse
from tests.support.task_context import RecordingContext
from zapq.background.handlers import TASK_TYPES, PermanentTaskError
from zapq.background.types.destinations import DestinationUnresolved, check_destination
from zapq.background.types.http_delivery import post_json
from zapq.settings import parse_allowed_hosts

deliver = TASK_TYPES["webhook_delivery"].handler
NOTHING_ALLOWED: frozenset[tuple[str, int | None]] = frozenset()


def resolving_to(*addresses: str):
    """A resolver answering every name with `addresses`, as a DNS server under someone's control might."""

    def resolve(host: str, port: int, **_: object) -> list[tuple]:
        return [
            (
                socket.AF_INET6 if ":" in address else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (address, port),
            )
            for address in addresses
        ]

    return resolve


def test_the_receiver_on_loopback_is_refused_without_an_allowance_and_gets_nothing(http_peer, environment):
    environment(WEBHOOK_ALLOWED_HOSTS="")
    context = RecordingContext()

    with pytest.raises(PermanentTaskError, match=r"127\.0\.0\.1 is refused: .*not a public address"):
        deliver(context, {"webhook_url": f"{http_peer.url}/hook", "data": {"secret": "x"}})
    assert http_peer.received() == []
    assert context.logged("is refused")


def test_the_same_receiver_is_reached_once_its_host_is_allowed(http_peer, environment):
    environment(WEBHOOK_ALLOWED_HOSTS="intranet.example, 127.0.0.1")

    result = deliver(RecordingContext(), {"webhook_url": f"{http_peer.url}/hook", "data": {}})

    assert result["status"] == 200 and len(http_peer.received("/hook")) == 1


def test_an_allowance_for_another_port_does_not_open_this_one(http_peer, environment):
    environment(WEBHOOK_ALLOWED_HOSTS="127.0.0.1:1")

    with pytest.raises(PermanentTaskError, match="is refused"):
        deliver(RecordingContext(), {"webhook_url": f"{http_peer.url}/hook", "data": {}})
    assert http_peer.received() == []


def test_a_name_that_resolves_to_loopback_is_refused_even_when_the_address_is_allowed(http_peer, environment):
    environment(WEBHOOK_ALLOWED_HOSTS="127.0.0.1")
    port = http_peer.url.rsplit(":", 1)[1]

    with pytest.raises(PermanentTaskError, match=r"localhost is refused: it resolves to (127\.0\.0\.1|::1)"):
        deliver(RecordingContext(), {"webhook_url": f"http://localhost:{port}/hook", "data": {}})
    assert http_peer.received() == []


@pytest.mark.parametrize(
    "url",
    ["http://10.1.2.3/hook", "http://172.16.0.1/", "http://192.168.0.10:8080/", "http://169.254.169.254/latest/",
     "http://[::1]:8000/", "http://[fe80::1]/", "http://[fd00::1]/", "http://[::ffff:127.0.0.1]/",
     "http://100.64.0.1/", "http://0.0.0.0:8000/", "http://127.1/", "http://2130706433/", "http://224.0.0.1/"],
    ids=["10", "172-16", "192-168", "metadata", "ipv6-loopback", "ipv6-link-local", "ipv6-unique-local",
         "ipv4-mapped-loopback", "shared-cgnat", "unspecified", "short-loopback", "decimal-loopback",
         "multicast"],
)  # fmt: skip
def test_private_loopback_and_link_local_destinations_are_refused(url):
    with pytest.raises(PermanentTaskError, match="is refused"):
        check_destination(url, NOTHING_ALLOWED)


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "gopher://example.com/",
        "ftp://example.com/x",
        "javascript:alert(1)",
        "//example.com/",
    ],
    ids=["file", "gopher", "ftp", "javascript", "no-scheme"],
)
def test_schemes_other_than_http_and_https_are_refused(url):
    with pytest.raises(PermanentTaskError, match="must be http:// or https://"):
        check_destination(url, NOTHING_ALLOWED)


def test_a_name_with_one_private_address_among_public_ones_is_refused():
    with pytest.raises(PermanentTaskError, match=r"resolves to 10\.0\.0\.5"):
        check_destination(
            "https://hooks.example/x", NOTHING_ALLOWED, resolve=resolving_to("93.184.216.34", "10.0.0.5")
        )


def test_a_public_destination_is_pinned_to_the_address_that_was_checked():
    destination = check_destination(
        "https://hooks.example:8443/x?token=t", NOTHING_ALLOWED, resolve=resolving_to("93.184.216.34")
    )

    assert destination.address == "93.184.216.34"
    assert str(destination.pinned_url) == "https://93.184.216.34:8443/x?token=t"
    assert (
        destination.host_header == "hooks.example:8443" and destination.origin == "https://hooks.example:8443"
    )


def test_a_name_that_does_not_resolve_is_worth_a_retry():
    with pytest.raises(DestinationUnresolved):
        check_destination("http://no-such-host.invalid/", NOTHING_ALLOWED)


def test_the_post_goes_to_the_checked_address_not_to_a_second_lookup(http_peer):
    """DNS rebinding: the name would resolve elsewhere (here: nowhere) on a second lookup; there is none."""
    port = int(http_peer.url.rsplit(":", 1)[1])
    http_peer.default = CannedResponse(200, {"ok": True})
    destination = check_destination(
        f"http://receiver.invalid:{port}/hook",
        parse_allowed_hosts("receiver.invalid"),
        resolve=resolving_to("127.0.0.1"),
    )

    delivery = post_json(RecordingContext(), destination, b"{}", {}, timeout_s=2, pinned=True)

    [request] = http_peer.received("/hook")
    assert delivery.status == 200 and request.headers["host"] == f"receiver.invalid:{port}"


@pytest.mark.parametrize(
    ("text", "allowed"),
    [("", set()), ("Hooks.Example, 10.0.0.5:8080", {("hooks.example", None), ("10.0.0.5", 8080)}),
     ("[::1]:8080, ::1, [fd00::2]", {("::1", 8080), ("::1", None), ("fd00::2", None)})],
    ids=["unset", "names-and-ports", "ipv6"],
)  # fmt: skip
def test_allowed_hosts_are_read_as_hosts_with_or_without_a_port(text, allowed):
    assert parse_allowed_hosts(text) == allowed


@pytest.mark.parametrize(
    "text", ["host:port", "host:0", ":80", "[::1]:x"], ids=["word-port", "zero", "no-host", "v6"]
)
def test_a_malformed_allowance_is_refused(text):
    with pytest.raises(ValueError, match="not host or host:port"):
        parse_allowed_hosts(text)
