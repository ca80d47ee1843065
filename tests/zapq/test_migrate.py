from __future__ import annotations

import threading
from pathlib import Path

import psycopg
import pytest

from zapq.db.migrate import apply_migrations, discover_migrations


def test_applied_migrations_are_not_applied_again(db: psycopg.Connection):
    assert apply_migrations(db) == []
    versions = [row[0] for row in db.execute("SELECT version FROM schema_migrations ORDER BY version")]
    assert versions == [migration.version for migration in discover_migrations()]


def test_concurrent_migrators_apply_each_migration_once(settings, tmp_path: Path):
    schema = "migrate_race"
    (tmp_path / "0001_first.sql").write_text("CREATE TABLE race_a (id int);")
    (tmp_path / "0002_second.sql").write_text("CREATE TABLE race_b (id int);")
    applied: list[list[str]] = []

    def migrate() -> None:
        with psycopg.connect(settings.database_url, autocommit=True) as connection:
            connection.execute(f"SET search_path TO {schema}")
            applied.append(apply_migrations(connection, tmp_path))

    with psycopg.connect(settings.database_url, autocommit=True) as setup:
        setup.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        setup.execute(f"CREATE SCHEMA {schema}")
        threads = [threading.Thread(target=migrate) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        setup.execute(f"DROP SCHEMA {schema} CASCADE")

    assert sorted(name for names in applied for name in names) == ["0001_first", "0002_second"]


def test_badly_named_migration_is_refused(tmp_path: Path):
    (tmp_path / "first.sql").write_text("SELECT 1;")

    with pytest.raises(ValueError, match=r"0001_name\.sql"):
        discover_migrations(tmp_path)
