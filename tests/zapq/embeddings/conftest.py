from __future__ import annotations

import pytest

from zapq.embeddings.providers import EmbeddingProvider


@pytest.fixture(scope="session")
def local_model() -> EmbeddingProvider:
    """The real local model, loaded once per test process."""
    from zapq.embeddings.local import LocalE5

    return LocalE5()
