"""An embeddings provider that fails for real: an OpenAI-compatible client whose server is down."""

from __future__ import annotations

from zapq.embeddings.openai_compatible import OpenAICompatibleEmbeddings


def unreachable_provider(model: str) -> OpenAICompatibleEmbeddings:
    """Posts to a port nothing listens on (9), retrying without waiting; raises `EmbeddingsError`."""
    return OpenAICompatibleEmbeddings(
        base_url="http://127.0.0.1:9/v1", api_key="k", model=model, timeout_s=1, batch_size=8,
        sleep=lambda _: None,
    )  # fmt: skip
