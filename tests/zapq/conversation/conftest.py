"""A seeded stock on the test PostgreSQL, and the rule-based engine over it."""

from __future__ import annotations

import psycopg
import pytest

from zapq.conversation.inventory import PostgresInventory
from zapq.conversation.rules import RuleBasedEngine
from zapq.conversation.seed import seed_inventory


@pytest.fixture
def inventory(db: psycopg.Connection) -> PostgresInventory:
    seed_inventory(db)
    return PostgresInventory(lambda: db)


@pytest.fixture
def rules(inventory: PostgresInventory) -> RuleBasedEngine:
    return RuleBasedEngine(inventory)
