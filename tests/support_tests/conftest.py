"""Fixtures of the support self-tests."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator

import pytest

from tests.support.restartable_postgres import RestartablePostgres


@pytest.fixture
def restartable_postgres(settings) -> Iterator[RestartablePostgres]:  # type: ignore[no-untyped-def]
    """A PostgreSQL of this test's own under the session's data dir, which it may stop and start.

    Not under pytest's tmp_path: as root, PostgreSQL's system user must be able to reach the
    directory, and making /tmp/pytest-of-root traversable for it is not this test's business.
    """
    directory = settings.data_dir / "restartable-postgres" / str(time.monotonic_ns())
    server = RestartablePostgres(directory).start()
    yield server
    server.stop()
    assert not server.leftover_pids(), "pg_ctl stop left postgres processes behind"
    shutil.rmtree(directory, ignore_errors=True)
