"""Which processes are alive, read from /proc: for tests that must leave no process behind."""

from __future__ import annotations

import os
from pathlib import Path


def live_processes() -> dict[int, int]:
    """pid -> parent pid, for every process that is not a zombie."""
    parents = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                status = dict(
                    line.split(":\t", 1)
                    for line in (proc / "status").read_text().splitlines()
                    if ":\t" in line
                )
            except OSError:
                continue
            if not status.get("State", "").startswith("Z"):
                parents[int(proc.name)] = int(status["PPid"])
    return parents


def descendants(root: int) -> set[int]:
    parents = live_processes()
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def children_running(parent: int, marker: str) -> set[int]:
    """Live children of `parent` whose command line contains `marker`."""
    return {pid for pid, ppid in live_processes().items() if ppid == parent and marker in command_line(pid)}


def command_line(pid: int) -> str:
    try:
        return (
            (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return ""


def alive(pids: set[int]) -> set[int]:
    return pids & set(live_processes())


def left_behind(marker: str, directory: Path) -> set[int]:
    """Live processes (other than this one) a start marked with `marker` (an environment entry,
    "NAME=value") or working with files under `directory`.

    An environment variable set for one command marks everything it starts, however detached; but
    redis-server overwrites its environment with its process title, so the embedded servers are also
    found by their working directory (Redis runs in its data directory) or command line (PostgreSQL's
    `-D`).
    """
    needle, root, found = marker.encode(), str(directory.resolve()), set()
    for pid in live_processes():
        if pid == os.getpid():
            continue
        proc = Path("/proc") / str(pid)
        try:
            environment = (proc / "environ").read_bytes().split(b"\0")
            cwd = os.readlink(proc / "cwd")
        except OSError:
            continue
        if needle in environment or cwd.startswith(root) or root in command_line(pid):
            found.add(pid)
    return found
