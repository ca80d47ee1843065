"""FailedAuthThrottle alone: the delay it asks for, and the memory it keeps."""

from __future__ import annotations

from web.auth_throttle import FailedAuthThrottle


def test_the_delay_doubles_with_each_failure_in_a_row_up_to_the_cap():
    throttle = FailedAuthThrottle(base_delay_s=0.1, max_delay_s=1.0)

    delays = [throttle.delay_s(throttle.record_failure("10.0.0.1")) for _ in range(6)]

    assert delays == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    assert throttle.delay_s(10_000) == 1.0


def test_each_client_is_counted_on_its_own_and_a_success_starts_it_over():
    throttle = FailedAuthThrottle()
    for _ in range(3):
        throttle.record_failure("10.0.0.1")

    assert throttle.record_failure("10.0.0.2") == 1
    throttle.record_success("10.0.0.1")
    assert throttle.record_failure("10.0.0.1") == 1


def test_failures_long_ago_are_forgotten():
    throttle = FailedAuthThrottle(forget_after_s=0.0)
    throttle.record_failure("10.0.0.1")

    assert throttle.record_failure("10.0.0.1") == 1


def test_a_flood_of_addresses_keeps_at_most_max_clients():
    throttle = FailedAuthThrottle(max_clients=100)
    throttle.record_failure("the-persistent-one")
    for n in range(10_000):
        throttle.record_failure(f"10.{n // 256}.{n % 256}.1")
        if n % 50 == 0:
            throttle.record_failure("the-persistent-one")

    assert len(throttle) == 100
    assert throttle.record_failure("the-persistent-one") > 100
