from __future__ import annotations

import pytest

from tests.support.http_peer import HttpPeer
from zapq.conversation.factory import build_engine
from zapq.conversation.llm import LLMEngine
from zapq.conversation.memory_inventory import InMemoryInventory
from zapq.conversation.rules import RuleBasedEngine


def test_rules_is_the_default_engine(inventory: InMemoryInventory):
    assert isinstance(build_engine("rules", inventory=inventory), RuleBasedEngine)
    assert isinstance(build_engine("", inventory=inventory), RuleBasedEngine)


def test_the_llm_engine_talks_to_the_configured_server(inventory: InMemoryInventory, http_peer: HttpPeer):
    engine = build_engine(
        " LLM ", inventory=inventory, openai_base_url=http_peer.url, openai_api_key="sk-1", openai_model="m-1"
    )

    assert isinstance(engine, LLMEngine)
    assert (engine.client.completions_url, engine.client.model) == (
        f"{http_peer.url}/chat/completions",
        "m-1",
    )
    assert isinstance(engine.fallback, RuleBasedEngine)


def test_an_unknown_engine_name_lists_the_allowed_ones(inventory: InMemoryInventory):
    with pytest.raises(ValueError, match="expected one of rules, llm"):
        build_engine("gpt", inventory=inventory)


def test_the_llm_engine_needs_an_api_key(inventory: InMemoryInventory):
    with pytest.raises(ValueError, match="OPENAI_API_KEY"):
        build_engine("llm", inventory=inventory)
