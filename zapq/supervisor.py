"""Keeps `make run`'s children up, as systemd's `Restart=always` keeps them up in production.

A child that exits while no stop was requested is restarted after a delay that doubles from
`DEFAULT_INITIAL_DELAY_S` (1 s) up to `DEFAULT_MAX_DELAY_S` (30 s), and starts again from 1 s once the
child has stayed up `DEFAULT_STABLE_AFTER_S` (30 s). `DEFAULT_CRASH_LIMIT` (5) exits of one child within
`DEFAULT_CRASH_WINDOW_S` (60 s) is a crash loop that restarting will not fix: everything stops and the
run fails, so a person looks.

Each child runs in its own session, so its process group holds what it forked (dramatiq's worker
processes) and the shutdown order stays ours. The group is killed as soon as its leader exits: a fork
left behind would hold the metrics port and Redis consumers into the next start.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

logger = logging.getLogger("zapq.supervisor")

DEFAULT_INITIAL_DELAY_S = 1.0
DEFAULT_MAX_DELAY_S = 30.0
DEFAULT_STABLE_AFTER_S = 30.0
DEFAULT_CRASH_LIMIT = 5
DEFAULT_CRASH_WINDOW_S = 60.0
DEFAULT_GRACE_PERIOD_S = 30.0  # above WORKER_SHUTDOWN_TIMEOUT_MS: in-flight replies finish first
DEFAULT_POLL_INTERVAL_S = 0.2


@dataclass(frozen=True, kw_only=True)
class RestartPolicy:
    """How fast a crashed child comes back, and how many crashes mean it never will."""

    initial_delay_s: float = DEFAULT_INITIAL_DELAY_S
    max_delay_s: float = DEFAULT_MAX_DELAY_S
    stable_after_s: float = DEFAULT_STABLE_AFTER_S
    crash_limit: int = DEFAULT_CRASH_LIMIT
    crash_window_s: float = DEFAULT_CRASH_WINDOW_S


@dataclass(frozen=True)
class Restart:
    delay_s: float


@dataclass(frozen=True)
class GiveUp:
    crashes: int
    window_s: float


class Backoff:
    """One child's crash history under a policy; tests pass their own `clock` instead of waiting."""

    def __init__(self, policy: RestartPolicy, clock: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy
        self.clock = clock
        self._started_at = clock()
        self._next_delay_s = min(policy.initial_delay_s, policy.max_delay_s)
        self._recent_crashes: deque[float] = deque()

    def started(self) -> None:
        self._started_at = self.clock()

    def crashed(self) -> Restart | GiveUp:
        """Record an exit of the child and decide: restart after a delay, or give up on a crash loop."""
        now, policy = self.clock(), self.policy
        if now - self._started_at >= policy.stable_after_s:
            self._next_delay_s = min(policy.initial_delay_s, policy.max_delay_s)
        self._recent_crashes.append(now)
        while self._recent_crashes[0] <= now - policy.crash_window_s:
            self._recent_crashes.popleft()
        if len(self._recent_crashes) >= policy.crash_limit:
            return GiveUp(len(self._recent_crashes), policy.crash_window_s)
        delay_s = self._next_delay_s
        self._next_delay_s = min(delay_s * 2, policy.max_delay_s)
        return Restart(delay_s)


@dataclass
class Child:
    name: str
    command: list[str]
    backoff: Backoff
    process: subprocess.Popen[bytes] | None = None
    restart_at: float = 0.0


class Supervisor:
    """Starts the children, restarts the ones that exit, and stops them all on request or on a crash loop."""

    def __init__(
        self,
        commands: Mapping[str, Sequence[str]],
        *,
        policy: RestartPolicy | None = None,
        grace_period_s: float = DEFAULT_GRACE_PERIOD_S,
        poll_interval_s: float = DEFAULT_POLL_INTERVAL_S,
    ) -> None:
        policy = policy or RestartPolicy()
        self.children = [Child(name, list(command), Backoff(policy)) for name, command in commands.items()]
        self.grace_period_s = grace_period_s
        self.poll_interval_s = poll_interval_s
        # A plain flag, not a threading.Event: a signal handler must not take a lock the main thread may hold.
        self._stop_requested = False

    def stop_on_signals(self) -> None:
        """Ctrl-C (SIGINT) and SIGTERM request the orderly stop. Call it from the main thread."""
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda signum, frame: self.request_stop())

    def request_stop(self) -> None:
        self._stop_requested = True

    def start(self) -> None:
        for child in self.children:
            self._start(child)

    def run(self) -> int:
        """Supervise until a stop is requested (returns 0) or a child crash-loops (returns 1).

        The children are stopped before it returns, whichever way it ends.
        """
        try:
            while not self._stop_requested:
                for child in self.children:
                    if self._tend(child) is not None:
                        return 1
                time.sleep(self.poll_interval_s)
            return 0
        finally:
            self.stop_children()

    def stop_children(self) -> None:
        """One SIGTERM to every child, SIGKILL to what is left of its group after the grace period.

        One signal, to the child alone, as systemd sends it: dramatiq's main process forwards it to
        its worker processes, which finish the messages in hand; a second SIGTERM sent to the whole
        group would make dramatiq kill them at once, abandoning replies mid-send.
        """
        running = [(child, child.process) for child in self.children if child.process is not None]
        for _, process in running:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.grace_period_s
        while time.monotonic() < deadline and not all(_has_exited(process) for _, process in running):
            time.sleep(0.05)
        for child, process in running:
            if not _has_exited(process):
                logger.warning("%s did not stop within %.0f s; killing it", child.name, self.grace_period_s)
            # The whole group either way: dramatiq's forks live there and may outlive their parent.
            _signal_group(process, signal.SIGKILL)
            process.wait()
            child.process = None

    def _start(self, child: Child) -> subprocess.Popen[bytes]:
        child.process = subprocess.Popen(child.command, start_new_session=True)
        child.backoff.started()
        return child.process

    def _tend(self, child: Child) -> GiveUp | None:
        """Restart a child whose delay is over, or handle its exit; a GiveUp means a crash loop."""
        if child.process is None:
            if time.monotonic() >= child.restart_at:
                logger.warning("%s restarted (pid %d)", child.name, self._start(child).pid)
            return None
        process = child.process
        if not _has_exited(process):
            return None
        # Killed before the exited leader is reaped: until then its pid, the group's id, cannot be reused.
        _signal_group(process, signal.SIGKILL)
        how = describe_exit(process.wait())
        child.process = None
        decision = child.backoff.crashed()
        if isinstance(decision, GiveUp):
            logger.error(
                "%s (pid %d) %s: %d crashes within %.0f s, a crash loop; stopping everything",
                child.name, process.pid, how, decision.crashes, decision.window_s,
            )  # fmt: skip
            return decision
        child.restart_at = time.monotonic() + decision.delay_s
        logger.warning("%s (pid %d) %s; restarting in %.1f s", child.name, process.pid, how, decision.delay_s)
        return None


def describe_exit(returncode: int) -> str:
    if returncode >= 0:
        return f"exited with code {returncode}"
    try:
        return f"was killed by {signal.Signals(-returncode).name}"
    except ValueError:
        return f"was killed by signal {-returncode}"


def _has_exited(process: subprocess.Popen[bytes]) -> bool:
    """True once the process has exited, without reaping it, so its group can still be signalled safely."""
    if process.returncode is not None:
        return True
    return os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)
