"""A host that drops off the network gives its conversation locks back within DATABASE_DEAD_PEER_S.

A killed process closes its connections and PostgreSQL ends its sessions at once; a host whose cable
is pulled sends nothing. Two hosts each take a conversation's lock and are cut off, then killed: the
one connected as zapq connects gives its lock back within the budget, the one connected with libpq's
defaults still holds its own (for about two hours), which is the burst that would wait that long.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.cluster.netns import BRIDGE_ADDRESS, SUBNET, Host, Network
from tests.support.restartable_postgres import RestartablePostgres
from zapq.conversation.store import conversation_lock

ROOT = Path(__file__).resolve().parents[2]
DEAD_PEER_S = 5
SLACK_S = 3.0  # the server's probe timer, process exit, the waiter's wake-up
ZAPQ = Host("locks-zapq", f"{SUBNET}.61")
BARE = Host("locks-bare", f"{SUBNET}.62")
PHONE_NUMBER_ID = "106540352242922"

# Run in a host: take a conversation's lock on a connection made as zapq makes them (or libpq's
# defaults), say so, and hold it.
HOLDER = """
import sys, time
import psycopg
from zapq.conversation.store import conversation_lock
from zapq.db.connection import connect
url, wa_id, how = sys.argv[1:]
connection = connect(url) if how == "zapq" else psycopg.connect(url, autocommit=True)
with conversation_lock(connection, "106540352242922", wa_id):
    print("locked", flush=True)
    time.sleep(3600)
"""


@pytest.fixture
def network() -> Iterator[Network]:
    network = Network([ZAPQ, BARE]).create()  # NamespacesUnavailable says why: never a silent pass
    try:
        yield network
    finally:
        left = network.teardown()
        assert not left, f"left running in the hosts (now killed): {left}"


@pytest.fixture
def postgres(network: Network) -> Iterator[RestartablePostgres]:
    """PostgreSQL in the root namespace, reachable from the hosts at the bridge's address."""
    data_dir = Path(os.environ.get("ZAPQ_DATA_DIR", ROOT / "var" / "test-cluster"))
    directory = data_dir / "locks-postgres"
    shutil.rmtree(directory, ignore_errors=True)
    server = RestartablePostgres(directory, also_on=(BRIDGE_ADDRESS,)).start()
    yield server
    server.stop()
    server.kill()
    shutil.rmtree(directory, ignore_errors=True)


def hold_lock(network: Network, host: Host, url: str, wa_id: str, how: str) -> subprocess.Popen[str]:
    environment = {**os.environ, "DATABASE_URL": url, "DATABASE_DEAD_PEER_S": str(DEAD_PEER_S)}
    holder = subprocess.Popen(
        host.command(sys.executable, "-c", HOLDER, url, wa_id, how), cwd=ROOT, env=environment,
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    return holder


def wait_for_lock(url: str, wa_id: str, taken: dict[str, float]) -> threading.Thread:
    """A live worker's burst for the same customer, waiting on the lock as `process_message` does."""

    def wait() -> None:
        with (
            psycopg.connect(url, autocommit=True) as connection,
            conversation_lock(connection, PHONE_NUMBER_ID, wa_id),
        ):
            taken[wa_id] = time.monotonic()

    thread = threading.Thread(target=wait, daemon=True)
    thread.start()
    return thread


def test_a_cut_off_hosts_conversation_lock_is_released_within_the_dead_peer_budget(
    network: Network, postgres: RestartablePostgres
) -> None:
    port = postgres.port
    from_hosts = f"postgresql://postgres@{BRIDGE_ADDRESS}:{port}/postgres"
    holders = [
        hold_lock(network, ZAPQ, from_hosts, "5511900000001", "zapq"),
        hold_lock(network, BARE, from_hosts, "5511900000002", "bare"),
    ]
    taken: dict[str, float] = {}
    waiters = [wait_for_lock(postgres.url, wa_id, taken) for wa_id in ("5511900000001", "5511900000002")]
    time.sleep(0.5)
    assert taken == {}, "the locks were not held"

    for host in (ZAPQ, BARE):
        network.cut(host)
    cut_at = time.monotonic()
    for host in (ZAPQ, BARE):
        network.kill(host)
    for holder in holders:
        holder.wait(timeout=10)

    waiters[0].join(timeout=DEAD_PEER_S + SLACK_S)
    assert "5511900000001" in taken, (
        f"zapq's lock still held {DEAD_PEER_S + SLACK_S} s after its host was cut"
    )
    released_after = taken["5511900000001"] - cut_at
    print(f"\ncluster: dead_host_lock_released_s = {released_after:.1f} (DATABASE_DEAD_PEER_S={DEAD_PEER_S})")
    assert released_after <= DEAD_PEER_S + SLACK_S
    assert "5511900000002" not in taken, "with libpq's defaults the lock should outlive the cut host"

    with psycopg.connect(postgres.url, autocommit=True) as connection:  # end the ghost by hand
        connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE client_addr = %s", (BARE.address,)
        )
    waiters[1].join(timeout=10)
    assert "5511900000002" in taken, "the waiter did not get the lock once the ghost session was ended"
