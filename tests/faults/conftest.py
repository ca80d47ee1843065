"""The fault suite runs only under `make test-faults` (ZAPQ_FAULT_TESTS=1): it takes about ten minutes."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from tests.faults.harness import FaultRig

if os.environ.get("ZAPQ_FAULT_TESTS") != "1":
    collect_ignore_glob = ["test_*.py"]


@pytest.fixture
def start_rig(settings) -> Iterator[Callable[[str], FaultRig]]:  # type: ignore[no-untyped-def]
    """Start a scenario's rig under the session's data dir; nothing it started may outlive the test."""
    rigs: list[FaultRig] = []

    def start(name: str) -> FaultRig:
        rig = FaultRig(name, settings.data_dir / "faults" / name)
        rigs.append(rig)
        return rig.start()

    yield start
    left = [process for rig in rigs for process in rig.close()]
    assert not left, f"left running after the scenario (now killed): {', '.join(left)}"
