"""A real headless Chromium (Debian's /usr/bin/chromium) driven by Playwright, never a downloaded browser."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = Path(os.environ.get("ZAPQ_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]  # fmt: skip


class ChromiumMissing(RuntimeError):
    pass


@contextmanager
def chromium() -> Iterator[object]:
    """A Playwright Browser on a fresh profile; fails (never skips) when Chromium is not installed."""
    if not CHROMIUM.is_file():
        raise ChromiumMissing(
            f"{CHROMIUM} is missing: install Debian's chromium package (`make system-packages`, as root)"
        )
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="zapq-chromium-") as profile, sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True,
            viewport={"width": 1280, "height": 860},
        )  # fmt: skip
        try:
            yield context
        finally:
            context.close()
