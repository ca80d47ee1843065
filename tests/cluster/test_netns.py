"""Where namespaces cannot be made, the cluster suite fails saying why: it never passes silently."""

from __future__ import annotations

import pytest

from tests.cluster.netns import NamespacesUnavailable, check_available


def test_a_machine_without_iproute2_is_told_namespaces_are_unavailable_and_why() -> None:
    with pytest.raises(NamespacesUnavailable, match=r"^network namespaces unavailable: `/nonexistent/ip`"):
        check_available(ip="/nonexistent/ip")
