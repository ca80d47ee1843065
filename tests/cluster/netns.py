"""Hosts on one Linux machine: a network namespace each, joined by veth pairs to one bridge.

Every host gets `eth0` inside its namespace with 10.213.77.<n>/24; the bridge keeps 10.213.77.1 in the
root namespace, so the test process (and the Cloud API stand-in it serves) reaches every host
and every host reaches it. `cut(host)` takes the host's cable out (its bridge-side veth down):
its processes keep running but nothing they send arrives, as when a machine drops off the network.

Everything is named with `PREFIX`, so `teardown()` (and a start after a crashed run) removes
exactly what a cluster run made, never another namespace or link of the machine.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

PREFIX = "zqc-"
BRIDGE = f"{PREFIX}br0"
SUBNET = "10.213.77"  # rare, so as not to meet another experiment's addresses on this machine
BRIDGE_ADDRESS = f"{SUBNET}.1"


class NamespacesUnavailable(RuntimeError):
    """This machine cannot make network namespaces (not root, no iproute2, a sandbox without netns)."""

    def __init__(self, why: str) -> None:
        super().__init__(f"network namespaces unavailable: {why}")


@dataclass(frozen=True)
class Host:
    name: str  # the namespace is PREFIX + name
    address: str

    @property
    def namespace(self) -> str:
        return f"{PREFIX}{self.name}"

    @property
    def cable(self) -> str:
        """The bridge-side end of the host's veth pair, in the root namespace."""
        return f"{PREFIX}{self.name}"[:15]

    def command(self, *argv: str) -> list[str]:
        """`argv` run inside this host's namespace."""
        return ["ip", "netns", "exec", self.namespace, *argv]


def check_available(ip: str = "ip") -> None:
    """Raise `NamespacesUnavailable` naming why, unless a namespace can be made and entered here."""
    if shutil.which(ip) is None:
        raise NamespacesUnavailable(f"`{ip}` (iproute2) is not installed")
    if os.geteuid() != 0:
        raise NamespacesUnavailable("creating them needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN)")
    probe = f"{PREFIX}probe-{os.getpid()}"
    try:
        _run(ip, "netns", "add", probe)
        _run(ip, "netns", "exec", probe, ip, "link", "set", "lo", "up")
    except RuntimeError as error:
        raise NamespacesUnavailable(str(error)) from None
    finally:
        subprocess.run([ip, "netns", "del", probe], capture_output=True, check=False)


@dataclass
class Network:
    """The bridge and one namespace per host; `teardown()` is safe to call at any point, twice."""

    hosts: Sequence[Host]
    ip: str = "ip"
    _made: bool = field(default=False, init=False)

    def create(self) -> Network:
        check_available(self.ip)
        self.teardown()  # what a killed earlier run left behind
        self._made = True
        _run(self.ip, "link", "add", BRIDGE, "type", "bridge")
        _run(self.ip, "addr", "add", f"{BRIDGE_ADDRESS}/24", "dev", BRIDGE)
        _run(self.ip, "link", "set", BRIDGE, "up")
        for host in self.hosts:
            _run(self.ip, "netns", "add", host.namespace)
            veth = ["type", "veth", "peer", "name", "eth0", "netns", host.namespace]
            _run(self.ip, "link", "add", host.cable, *veth)
            _run(self.ip, "link", "set", host.cable, "master", BRIDGE)
            _run(self.ip, "link", "set", host.cable, "up")
            inside = ["netns", "exec", host.namespace, self.ip]
            _run(self.ip, *inside, "addr", "add", f"{host.address}/24", "dev", "eth0")
            _run(self.ip, *inside, "link", "set", "eth0", "up")
            _run(self.ip, *inside, "link", "set", "lo", "up")
        return self

    def cut(self, host: Host) -> None:
        """Unplug the host: its processes live on, its packets go nowhere."""
        _run(self.ip, "link", "set", host.cable, "down")

    def pids(self, host: Host) -> list[int]:
        """Every process living in the host's namespace."""
        found = subprocess.run(
            [self.ip, "netns", "pids", host.namespace], capture_output=True, text=True, check=False
        )
        return [int(pid) for pid in found.stdout.split()]

    def kill(self, host: Host) -> list[int]:
        """SIGKILL every process of the host, as when the machine loses power; returns their pids."""
        pids = self.pids(host)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while self.pids(host) and time.monotonic() < deadline:
            time.sleep(0.05)
        return pids

    def teardown(self) -> list[str]:
        """Kill what runs in the hosts, remove them and the bridge; returns what still ran (killed)."""
        left: list[str] = []
        for namespace in _namespaces(self.ip):
            if not namespace.startswith(PREFIX):
                continue
            host = Host(namespace.removeprefix(PREFIX), "")
            if self._made:
                left += [f"pid {pid} in {namespace}" for pid in self.pids(host)]
            self.kill(host)
            subprocess.run([self.ip, "netns", "del", namespace], capture_output=True, check=False)
        # A namespace outlives its deletion while a process still holds it; its veth then too.
        for link in _links(self.ip):
            if link.startswith(PREFIX):
                subprocess.run([self.ip, "link", "del", link], capture_output=True, check=False)
        self._made = False
        return left


def _namespaces(ip: str) -> list[str]:
    listed = subprocess.run([ip, "netns", "list"], capture_output=True, text=True, check=False)
    return [line.split()[0] for line in listed.stdout.splitlines() if line.strip()]


def _links(ip: str) -> list[str]:
    listed = subprocess.run([ip, "-o", "link", "show"], capture_output=True, text=True, check=False)
    return [line.split(":")[1].strip().split("@")[0] for line in listed.stdout.splitlines() if ":" in line]


def _run(*argv: str) -> None:
    finished = subprocess.run(argv, capture_output=True, text=True, check=False)
    if finished.returncode != 0:
        raise RuntimeError(f"`{' '.join(argv)}` failed ({finished.returncode}): {finished.stderr.strip()}")
