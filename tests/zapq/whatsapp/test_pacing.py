"""Pacer: per number throughput and per recipient spacing, shared through the real Redis."""

from __future__ import annotations

import itertools
import threading
import time

import redis

from zapq.keyspace import DEFAULT_NAMESPACE, pace_number_key, pace_recipient_key
from zapq.whatsapp.pacing import Pacer

NUMBER = "106540352242922"
CUSTOMER = "5511987654321"


def send_paced(
    pacer: Pacer, client: redis.Redis, recipients: list[str], until: float
) -> list[tuple[float, str]]:
    """Acquire for each recipient in turn until `until`, sleeping as told; the grant times."""
    granted: list[tuple[float, str]] = []
    turn = 0
    while time.monotonic() < until:
        recipient = recipients[turn % len(recipients)]
        wait = pacer.acquire(client, NUMBER, recipient)
        if wait:
            time.sleep(wait)
            continue
        granted.append((time.monotonic(), recipient))
        turn += 1
    return granted


def in_two_threads(
    pacer: Pacer, client: redis.Redis, recipients: list[list[str]], seconds: float
) -> list[float]:
    until = time.monotonic() + seconds
    results: list[list[tuple[float, str]]] = [[], []]

    def run(index: int) -> None:
        results[index] = send_paced(pacer, client, recipients[index], until)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(moment for result in results for moment, _ in result)


def test_a_recipient_gets_at_most_one_message_per_interval_across_threads(redis_client: redis.Redis) -> None:
    pacer = Pacer(max_messages_per_second=1000, recipient_min_interval_ms=100)

    granted = in_two_threads(pacer, redis_client, [[CUSTOMER], [CUSTOMER]], seconds=1.0)

    gaps = [later - earlier for earlier, later in itertools.pairwise(granted)]
    assert 8 <= len(granted) <= 11
    assert min(gaps) > 0.09  # 100 ms apart, give or take the Redis round trip


def test_a_number_sends_no_faster_than_its_throughput_across_threads(redis_client: redis.Redis) -> None:
    pacer = Pacer(max_messages_per_second=20, recipient_min_interval_ms=0)
    customers = [
        [f"55119000000{n:02d}" for n in range(0, 50, 2)],
        [f"55119000000{n:02d}" for n in range(1, 50, 2)],
    ]

    granted = in_two_threads(pacer, redis_client, customers, seconds=2.0)

    assert 35 <= len(granted) <= 41
    for start in granted:
        assert sum(1 for moment in granted if start <= moment < start + 1.0) <= 21


def test_back_to_back_sends_from_one_number_are_spaced_by_its_throughput(redis_client: redis.Redis) -> None:
    pacer = Pacer(max_messages_per_second=80, recipient_min_interval_ms=0)
    started = time.monotonic()
    assert pacer.acquire(redis_client, NUMBER, "5511900000001") == 0

    wait = pacer.acquire(redis_client, NUMBER, "5511900000002")
    between = time.monotonic() - started  # a loaded machine may take milliseconds between the calls

    assert 0.0125 - between - 0.001 < wait <= 0.0125  # the next slot is 1/80 s after the first send


def test_a_refused_acquire_takes_nothing_and_says_how_long_to_wait(redis_client: redis.Redis) -> None:
    pacer = Pacer(recipient_min_interval_ms=1000)
    assert pacer.acquire(redis_client, NUMBER, CUSTOMER) == 0

    waits = [pacer.acquire(redis_client, NUMBER, CUSTOMER) for _ in range(20)]

    assert all(0.8 < wait <= 1.0 for wait in waits)
    assert waits == sorted(waits, reverse=True)  # refusals never push the next slot further away


def test_recipients_are_paced_independently(redis_client: redis.Redis) -> None:
    pacer = Pacer(max_messages_per_second=10_000, recipient_min_interval_ms=60_000)
    assert pacer.acquire(redis_client, NUMBER, CUSTOMER) == 0

    assert pacer.acquire(redis_client, NUMBER, "5521912345678") == 0
    assert pacer.acquire(redis_client, "another-business-number", CUSTOMER) == 0
    assert pacer.acquire(redis_client, NUMBER, CUSTOMER) > 59


def test_a_recipient_burst_allows_a_split_reply_then_spaces_messages(redis_client: redis.Redis) -> None:
    # The number's own pace (100 µs here) must not be what spaces these calls: a fast machine makes
    # them closer than that, so the number may burst too.
    pacer = Pacer(
        max_messages_per_second=10_000, number_burst=4, recipient_min_interval_ms=6000, recipient_burst=3
    )

    waits = [pacer.acquire(redis_client, NUMBER, CUSTOMER) for _ in range(4)]

    assert waits[:3] == [0, 0, 0]
    assert 5.9 < waits[3] <= 6.0


def test_keys_expire_once_they_no_longer_restrict(redis_client: redis.Redis) -> None:
    Pacer(max_messages_per_second=80, recipient_min_interval_ms=1500).acquire(redis_client, NUMBER, CUSTOMER)
    number_key = pace_number_key(DEFAULT_NAMESPACE, NUMBER)
    recipient_key = pace_recipient_key(DEFAULT_NAMESPACE, NUMBER, CUSTOMER)

    assert set(redis_client.keys("*")) == {number_key.encode(), recipient_key.encode()}
    assert 0 < redis_client.pttl(number_key) <= 14
    assert 1400 < redis_client.pttl(recipient_key) <= 1501


def test_the_default_limits_are_80_per_second_and_1s_per_recipient(redis_client: redis.Redis) -> None:
    pacer = Pacer()

    assert pacer.acquire(redis_client, NUMBER, CUSTOMER) == 0

    assert 0.9 < pacer.acquire(redis_client, NUMBER, CUSTOMER) <= 1.0


def test_deployments_sharing_a_redis_pace_apart_under_their_namespaces(redis_client: redis.Redis) -> None:
    assert Pacer(namespace="tenant-a").acquire(redis_client, NUMBER, CUSTOMER) == 0
    assert Pacer(namespace="tenant-b").acquire(redis_client, NUMBER, CUSTOMER) == 0

    keys = {key.decode() for key in redis_client.keys("*")}

    assert keys == {
        f"{tenant}:zapq:pace:{kind}" for tenant in ("tenant-a", "tenant-b")
        for kind in (f"number:{NUMBER}", f"recipient:{NUMBER}:{CUSTOMER}")
    }  # fmt: skip


def test_an_id_that_is_not_plain_cannot_shape_a_pacing_key(redis_client: redis.Redis) -> None:
    pacer = Pacer(max_messages_per_second=10_000, recipient_min_interval_ms=60_000)
    assert pacer.acquire(redis_client, NUMBER, "*") == 0

    assert pacer.acquire(redis_client, NUMBER, "other:*") == 0
    assert pacer.acquire(redis_client, NUMBER, "*") > 59

    keys = [key.decode() for key in redis_client.keys("*")]
    assert all(key.count(":") <= 5 and "*" not in key for key in keys)
