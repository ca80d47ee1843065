"""Worker module of the background-task tests: zapq's actors plus the test task types.

Run as `dramatiq tests.support.background_worker:boot`.
"""

from __future__ import annotations

from actors import boot  # noqa: F401 (the entry point: `dramatiq <this module>:boot`)
from tests.support import background_types  # noqa: F401 (registers the test task types)
