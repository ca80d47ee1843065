"""Every customer script (customer_scripts.py) played against each engine over the real PostgreSQL inventory.

An engine joins by adding an entry to ENGINES: how to build it from the inventory, and which scripts it
must pass (the LLM engine, with a scripted model standing in, plays the subset it is meant to handle).
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest

from tests.zapq.conversation.customer_scripts import SCRIPTS
from tests.zapq.conversation.messages import WA_ID
from tests.zapq.conversation.scripts import Drive, Script, play
from zapq.conversation.engine import ConversationEngine
from zapq.conversation.inventory import PostgresInventory
from zapq.conversation.rules import RuleBasedEngine
from zapq.conversation.when import SAO_PAULO

EngineFactory = Callable[[PostgresInventory], ConversationEngine]

ENGINES: dict[str, tuple[EngineFactory, Callable[[Script], bool]]] = {
    "rules": (RuleBasedEngine, lambda script: True),
}
CASES = [
    pytest.param(engine_id, script, id=f"{engine_id}-{script.name}")
    for engine_id, (_, plays) in ENGINES.items()
    for script in SCRIPTS
    if plays(script)
]


@pytest.fixture
def engine(request: pytest.FixtureRequest, postgres_inventory: PostgresInventory) -> ConversationEngine:
    build, _ = ENGINES[request.param]
    return build(postgres_inventory)


def stored_drives(db: psycopg.Connection) -> Callable[[], list[Drive]]:
    def read() -> list[Drive]:
        rows = db.execute(
            "SELECT t.status, t.starts_at, v.model FROM test_drives t"
            " LEFT JOIN vehicles v ON v.id = t.vehicle_id WHERE t.wa_id = %s ORDER BY t.id",
            (WA_ID,),
        ).fetchall()
        return [Drive(status, starts_at.astimezone(SAO_PAULO), model) for status, starts_at, model in rows]

    return read


@pytest.mark.parametrize(("engine", "script"), CASES, indirect=["engine"])
def test_customer_script(engine: ConversationEngine, script: Script, db: psycopg.Connection):
    transcript = play(script, engine, stored_drives(db))

    assert len(transcript) == len(script.turns)


def test_the_scripts_cover_at_least_sixty_turns():
    assert sum(len(script.turns) for script in SCRIPTS) >= 60
    assert len({script.name for script in SCRIPTS}) == len(SCRIPTS)
