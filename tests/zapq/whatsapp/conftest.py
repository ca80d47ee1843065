from __future__ import annotations

from collections.abc import Iterator

import pytest

from zapq.whatsapp.client import reset_token_circuit


@pytest.fixture(autouse=True)
def closed_token_circuit() -> Iterator[None]:
    """A test that trips the process-wide token circuit does not stop the next one's sends."""
    yield
    reset_token_circuit()
