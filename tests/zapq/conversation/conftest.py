"""The demo stock in memory (fast layer) or seeded on the test PostgreSQL, and the rule-based engine."""

from __future__ import annotations

import psycopg
import pytest

from zapq.conversation.inventory import PostgresInventory
from zapq.conversation.memory_inventory import InMemoryInventory
from zapq.conversation.rules import RuleBasedEngine
from zapq.conversation.seed import seed_inventory


@pytest.fixture
def inventory() -> InMemoryInventory:
    return InMemoryInventory()


@pytest.fixture
def postgres_inventory(db: psycopg.Connection) -> PostgresInventory:
    seed_inventory(db)
    return PostgresInventory(lambda: db)


@pytest.fixture
def rules(inventory: InMemoryInventory) -> RuleBasedEngine:
    return RuleBasedEngine(inventory)
