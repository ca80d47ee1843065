"""Which processes are alive, read from /proc: for tests that must leave no process behind."""

from __future__ import annotations

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
