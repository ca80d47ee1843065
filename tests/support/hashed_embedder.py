"""The test embedder: real vectors computed from the text, with no model to download.

Each word (lower-cased, accents kept) is hashed into one of `dimensions` buckets with a sign (the
"hashing trick"); a text's vector is its words' sum, normalised. Texts sharing words point the
same way, so a query finds the chunk that contains its words: enough to exercise storing,
replacing and searching vectors. The real provider (zapq.embeddings) replaces it in production.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

_WORD = re.compile(r"\w+")


@dataclass
class HashedEmbedder:
    dimensions: int = 64
    model: str = "test-hashed-bow-64"
    calls: list[int] = field(default_factory=list)  # texts per call, in order

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls.append(len(texts))
        return [self.vector(text) for text in texts]

    def vector(self, text: str) -> list[float]:
        vector = [0.0] * self.dimensions
        for word in _WORD.findall(text.lower()):
            digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
            bucket = int.from_bytes(digest[:4], "big") % self.dimensions
            vector[bucket] += 1.0 if digest[4] & 1 else -1.0
        norm = math.sqrt(sum(value * value for value in vector)) or 1.0
        return [value / norm for value in vector]
