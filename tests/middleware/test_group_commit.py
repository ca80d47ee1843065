"""Group commit (middleware.batching): requests sharing one script call stay isolated.

These drive `BatchedScripts` directly on the session Redis with tiny Lua bodies, and the
actor-declaration path for option values Lua would reject.
"""

from __future__ import annotations

import ctypes
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import redis

from middleware.batching import BatchedScripts
from middleware.errors import InvalidFlowOption

BODIES = {
    "ok": "return ARGV[1]",
    "bad": "return redis.call('SET', KEYS[1], 'x', 'PX', 0)",  # ERR invalid expire time
    # Holds Redis (and so its caller, the leader) for ARGV[1] ms.
    "slow": """
        local function now() local t = redis.call('TIME') return t[1] * 1000 + t[2] / 1000 end
        local stop = now() + tonumber(ARGV[1])
        while now() < stop do end
        return 'slow'
    """,
}


class Interrupted(BaseException):
    """Stands in for a time limit or a shutdown notification raised asynchronously in a thread."""


def interrupt(thread: threading.Thread) -> None:
    assert thread.ident is not None
    changed = ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread.ident), ctypes.py_object(Interrupted)
    )
    assert changed == 1


def recording_caller(scripts: BatchedScripts, outcomes: dict[str, Any]) -> Callable[[str, str, str], None]:
    """A thread target calling `body` with `arg` and recording, under `name`, its result or exception."""

    def call(name: str, body: str, arg: str) -> None:
        try:
            outcomes[name] = scripts[body](keys=[], args=[arg])
        except BaseException as error:  # the outcome under test, whatever it is
            outcomes[name] = error

    return call


def evalsha_calls(client: redis.Redis) -> int:
    return int(client.info("commandstats").get("cmdstat_evalsha", {}).get("calls", 0))


def test_a_bad_request_in_the_same_script_call_as_good_ones_fails_alone(redis_client):
    scripts = BatchedScripts(redis_client, "", BODIES)
    scripts["ok"](keys=[], args=["warm"])  # loads the script: every later call is one EVALSHA
    redis_client.config_resetstat()
    threads_count, calls_each = 16, 25
    start = threading.Barrier(threads_count)
    results: dict[tuple[int, int], Any] = {}

    def call_many(thread: int) -> None:
        start.wait()
        for number in range(calls_each):
            name = "bad" if (thread + number) % 5 == 0 else "ok"
            try:
                results[thread, number] = scripts[name](
                    keys=[f"gc:{thread}:{number}"], args=[f"{thread}/{number}"]
                )
            except redis.ResponseError as error:
                results[thread, number] = error

    workers = [threading.Thread(target=call_many, args=(thread,)) for thread in range(threads_count)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)

    requests = threads_count * calls_each
    assert evalsha_calls(redis_client) < requests  # requests did share calls
    for (thread, number), result in results.items():
        if (thread + number) % 5 == 0:
            assert isinstance(result, redis.ResponseError) and "expire" in str(result), result
        else:
            assert result == f"{thread}/{number}".encode(), result
    assert len(results) == requests


@pytest.mark.parametrize("option", ["lease_ms", "idempotency_ttl"])
def test_an_option_value_lua_would_reject_is_refused_when_the_actor_is_declared(declare, option):
    with pytest.raises(InvalidFlowOption, match=option):

        @declare(idempotency_key="key", **{option: 0})
        def charge(key: str) -> None:
            pass


@pytest.mark.parametrize("option", ["lease_ms", "idempotency_ttl"])
def test_an_option_value_lua_would_reject_is_refused_when_the_message_is_sent(
    declare, broker, redis_client, option
):
    @declare(idempotency_key="key")
    def charge(key: str) -> None:
        pass

    with pytest.raises(InvalidFlowOption, match=option):
        charge.send_with_options(args=("k",), **{option: 0})

    assert redis_client.llen("dramatiq:default") == 0


def test_an_interrupted_waiter_or_leader_never_wedges_the_other_callers(redis_client):
    scripts = BatchedScripts(redis_client, "", BODIES)
    scripts["ok"](keys=[], args=["warm"])
    outcomes: dict[str, Any] = {}
    call = recording_caller(scripts, outcomes)

    # The leader holds Redis for 600 ms; a waiter queued behind it is interrupted, then the
    # leader itself, while callers keep arriving.
    leader = threading.Thread(target=call, args=("leader", "slow", "600"))
    leader.start()
    time.sleep(0.1)
    waiter = threading.Thread(target=call, args=("waiter", "ok", "waiter"))
    waiter.start()
    others = [threading.Thread(target=call, args=(f"other{n}", "ok", f"other{n}")) for n in range(8)]
    for thread in others[:4]:
        thread.start()
    time.sleep(0.1)
    interrupt(waiter)
    interrupt(leader)
    for thread in others[4:]:
        thread.start()
    for thread in [leader, waiter, *others]:
        thread.join(10)

    assert not any(thread.is_alive() for thread in [leader, waiter, *others]), outcomes
    assert {name: outcomes[name] for name in outcomes if name.startswith("other")} == {
        f"other{n}": f"other{n}".encode() for n in range(8)
    }
    assert isinstance(outcomes["waiter"], Interrupted)  # delivered once it woke
    assert isinstance(outcomes["leader"], Interrupted)
    assert scripts["ok"](keys=[], args=["after"]) == b"after"  # leadership was handed on


def test_requests_in_an_interrupted_leader_s_call_never_receive_its_exception(redis_client):
    scripts = BatchedScripts(redis_client, "", BODIES)
    scripts["ok"](keys=[], args=["warm"])
    outcomes: dict[str, Any] = {}
    call = recording_caller(scripts, outcomes)

    first = threading.Thread(target=call, args=("first", "slow", "500"))
    first.start()
    time.sleep(0.1)
    # Queued behind the first call: `second` is handed the lead and runs all of them in one call.
    second = threading.Thread(target=call, args=("second", "slow", "500"))
    second.start()
    time.sleep(0.05)
    others = [threading.Thread(target=call, args=(f"other{n}", "ok", f"other{n}")) for n in range(4)]
    for thread in others:
        thread.start()
    first.join(5)
    time.sleep(0.2)  # second now waits for Redis inside its call, carrying the others' requests
    interrupt(second)
    for thread in [second, *others]:
        thread.join(10)

    assert isinstance(outcomes["second"], Interrupted)
    foreign = [
        name for name in outcomes if name.startswith("other") and isinstance(outcomes[name], Interrupted)
    ]
    assert foreign == []
    for n in range(4):  # each got its result, or an error it may retry (the call is safe to re-send)
        outcome = outcomes[f"other{n}"]
        assert outcome == f"other{n}".encode() or isinstance(outcome, redis.ConnectionError), outcome
