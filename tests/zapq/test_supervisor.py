"""`make run`'s supervisor: the restart policy on a fake clock, then over real throwaway processes."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.process_tree import alive, descendants
from tests.support.waiting import wait_until
from zapq.supervisor import Backoff, GiveUp, Restart, RestartPolicy, Supervisor

pytestmark = pytest.mark.processes

ROOT = Path(__file__).resolve().parents[2]


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def crash_after(backoff: Backoff, clock: FakeClock, uptime_s: float) -> Restart | GiveUp:
    """The child starts now, runs `uptime_s`, and exits."""
    backoff.started()
    clock.now += uptime_s
    decision = backoff.crashed()
    if isinstance(decision, Restart):
        clock.now += decision.delay_s
    return decision


def test_the_restart_delay_doubles_with_each_crash_up_to_the_cap():
    clock = FakeClock()
    backoff = Backoff(RestartPolicy(initial_delay_s=1, max_delay_s=8, crash_limit=100), clock)

    delays = [crash_after(backoff, clock, uptime_s=0.5) for _ in range(6)]

    assert delays == [Restart(1), Restart(2), Restart(4), Restart(8), Restart(8), Restart(8)]


def test_a_child_that_stayed_up_long_enough_is_restarted_after_the_first_delay_again():
    clock = FakeClock()
    backoff = Backoff(RestartPolicy(initial_delay_s=1, stable_after_s=30, crash_limit=100), clock)
    for _ in range(3):
        crash_after(backoff, clock, uptime_s=0.5)

    assert crash_after(backoff, clock, uptime_s=29) == Restart(8)
    assert crash_after(backoff, clock, uptime_s=30) == Restart(1)
    assert crash_after(backoff, clock, uptime_s=0.5) == Restart(2)


def test_five_crashes_within_sixty_seconds_are_a_crash_loop_by_default():
    clock = FakeClock()
    backoff = Backoff(RestartPolicy(), clock)

    decisions = [crash_after(backoff, clock, uptime_s=0.5) for _ in range(5)]

    assert decisions == [Restart(1), Restart(2), Restart(4), Restart(8), GiveUp(crashes=5, window_s=60)]


def test_crashes_spread_wider_than_the_window_never_make_a_crash_loop():
    clock = FakeClock()
    backoff = Backoff(RestartPolicy(crash_limit=3, crash_window_s=60), clock)

    decisions = [crash_after(backoff, clock, uptime_s=29) for _ in range(20)]

    assert all(isinstance(decision, Restart) for decision in decisions)


def test_the_default_policy_is_the_documented_one():
    assert RestartPolicy() == RestartPolicy(
        initial_delay_s=1.0, max_delay_s=30.0, stable_after_s=30.0, crash_limit=5, crash_window_s=60.0
    )


def sleeper(pid_file: Path, *, ignore_sigterm: bool = False) -> list[str]:
    """A child that writes its pid once it is ready (ignoring SIGTERM, if asked) and sleeps."""
    script = (
        "import os, signal, sys, time\n"
        f"if {ignore_sigterm}: signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "open(sys.argv[1], 'a').write(f'{os.getpid()}\\n')\n"
        "time.sleep(60)\n"
    )
    return [sys.executable, "-c", script, str(pid_file)]


def forker(pid_file: Path) -> list[str]:
    """A child that starts a grandchild in its process group (as dramatiq forks workers) and sleeps."""
    script = (
        "import subprocess, sys, time\n"
        "grandchild = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "open(sys.argv[1], 'a').write(f'{grandchild.pid}\\n')\n"
        "time.sleep(60)\n"
    )
    return [sys.executable, "-c", script, str(pid_file)]


def pids_in(path: Path) -> list[int]:
    return [int(line) for line in path.read_text().split()] if path.exists() else []


@contextmanager
def supervising(commands: Mapping[str, Sequence[str]], policy: RestartPolicy) -> Iterator[Supervisor]:
    """A supervisor running in a thread of this test; it is stopped, and its children with it, on exit."""
    supervisor = Supervisor(commands, policy=policy, grace_period_s=2.0, poll_interval_s=0.05)
    supervisor.start()
    exit_codes: list[int] = []
    thread = threading.Thread(target=lambda: exit_codes.append(supervisor.run()))
    thread.start()
    try:
        yield supervisor
    finally:
        supervisor.request_stop()
        thread.join(timeout=10)
    assert exit_codes == [0]
    assert all(child.process is None for child in supervisor.children)


def test_a_sigkilled_child_is_restarted_after_its_delay_and_both_are_logged(tmp_path, caplog):
    pid_file = tmp_path / "sleeper.pids"
    with supervising({"sleeper": sleeper(pid_file)}, RestartPolicy(initial_delay_s=0.2)):
        wait_until(lambda: len(pids_in(pid_file)) == 1, what="the sleeper")
        [first] = pids_in(pid_file)
        os.kill(first, signal.SIGKILL)

        wait_until(lambda: len(pids_in(pid_file)) == 2, timeout=5, what="the restarted sleeper")
    [_, second] = pids_in(pid_file)

    assert f"sleeper (pid {first}) was killed by SIGKILL; restarting in 0.2 s" in caplog.text
    assert f"sleeper restarted (pid {second})" in caplog.text
    assert not alive({first, second})


def test_what_a_crashed_child_forked_is_killed_before_it_starts_again(tmp_path):
    grandchildren = tmp_path / "grandchildren.pids"
    with supervising({"forker": forker(grandchildren)}, RestartPolicy(initial_delay_s=0.2)) as supervisor:
        wait_until(lambda: len(pids_in(grandchildren)) == 1, what="the first grandchild")
        first_child = supervisor.children[0].process
        assert first_child is not None
        os.kill(first_child.pid, signal.SIGKILL)  # the grandchild alone would outlive it

        wait_until(
            lambda: len(pids_in(grandchildren)) == 2, timeout=5, what="the restarted child's grandchild"
        )
        [first_grandchild, second_grandchild] = pids_in(grandchildren)
        assert not alive({first_grandchild}) and alive({second_grandchild})
    assert not alive({second_grandchild})


DRIVER = """
import json, logging, sys
from zapq.supervisor import RestartPolicy, Supervisor
logging.basicConfig(level="INFO", format="%(name)s %(message)s")
policy = RestartPolicy(**json.loads(sys.argv[2]))
supervisor = Supervisor(json.loads(sys.argv[1]), policy=policy, grace_period_s=1.0, poll_interval_s=0.05)
supervisor.stop_on_signals()
supervisor.start()
sys.exit(supervisor.run())
"""


def start_supervisor_process(commands: Mapping[str, Sequence[str]], **policy: float) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", DRIVER, json.dumps(commands), json.dumps(policy)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_sigterm_stops_every_child_and_what_they_forked_leaving_no_process(tmp_path):
    ready, grandchildren = tmp_path / "ready.pids", tmp_path / "grandchildren.pids"
    commands = {
        "sleeper": sleeper(ready),
        "stubborn": sleeper(ready, ignore_sigterm=True),
        "forker": forker(grandchildren),
    }
    supervisor = start_supervisor_process(commands)
    try:
        wait_until(
            lambda: len(pids_in(ready)) == 2 and len(pids_in(grandchildren)) == 1, timeout=10, what="children"
        )
        spawned = descendants(supervisor.pid)
        assert len(spawned) == 4
    finally:
        supervisor.send_signal(signal.SIGTERM)
        output, _ = supervisor.communicate(timeout=15)

    assert supervisor.returncode == 0, output
    assert "stubborn did not stop within 1 s; killing it" in output
    assert "restart" not in output
    wait_until(lambda: not alive(spawned), timeout=5, what=f"no survivors among {spawned}")


def test_a_crash_loop_stops_everything_and_exits_non_zero_naming_the_child(tmp_path):
    pid_file = tmp_path / "sleeper.pids"
    # The crasher waits for the sleeper, so the crash loop has a running child to stop.
    crasher = (
        "import os, sys, time\nwhile not os.path.exists(sys.argv[1]): time.sleep(0.01)\nraise SystemExit(3)"
    )
    commands = {"crasher": [sys.executable, "-c", crasher, str(pid_file)], "sleeper": sleeper(pid_file)}

    supervisor = start_supervisor_process(commands, initial_delay_s=0.05, crash_limit=3, crash_window_s=30)
    try:
        output, _ = supervisor.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        supervisor.kill()
        pytest.fail("the supervisor kept restarting a crash-looping child")

    assert supervisor.returncode == 1
    assert re.search(
        r"crasher \(pid \d+\) exited with code 3: 3 crashes within 30 s, a crash loop; stopping everything",
        output,
    ), output
    assert output.count("crasher restarted") == 2
    [sleeper_pid] = pids_in(pid_file)
    assert not alive({sleeper_pid})
