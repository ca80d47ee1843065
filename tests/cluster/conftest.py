"""The multi-host suite runs only under `make test-cluster` (ZAPQ_CLUSTER_TESTS=1): it needs root and
network namespaces, and takes a few minutes. test_netns.py, quick and harmless, always runs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster.netns import check_available
from tests.cluster.rig import ClusterRig

ROOT = Path(__file__).resolve().parents[2]

if os.environ.get("ZAPQ_CLUSTER_TESTS") != "1":
    collect_ignore_glob = ["test_multi_host*.py"]


@pytest.fixture
def cluster() -> Iterator[ClusterRig]:
    """The namespaced hosts with zapq on them; torn down even when the test or the start failed."""
    check_available()  # NamespacesUnavailable says why, and the run fails: it never passes silently
    data_dir = Path(os.environ.get("ZAPQ_DATA_DIR", ROOT / "var" / "test-cluster"))
    rig = ClusterRig(data_dir / "cluster")
    try:
        yield rig.start()
    finally:
        left = rig.close()
    assert not left, f"left running after the scenario (now killed): {', '.join(left)}"
