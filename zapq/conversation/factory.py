"""Pick the conversation engine by name (`CONVERSATION_ENGINE`): `rules` or `llm`."""

from __future__ import annotations

import httpx

from zapq.conversation.dealership import Dealership, default_dealership
from zapq.conversation.engine import ConversationEngine
from zapq.conversation.inventory import InventoryLookup
from zapq.conversation.llm import DEFAULT_TIMEOUT_S, LLMEngine
from zapq.conversation.rules import RuleBasedEngine
from zapq.conversation.vague_requests import MeaningSearch
from zapq.settings import SettingsError

ENGINE_NAMES = ("rules", "llm")
DEFAULT_ENGINE = "rules"
DEFAULT_OPENAI_BASE_URL = "https://api.openai.com/v1"
DEFAULT_OPENAI_MODEL = "gpt-4o-mini"


def build_engine(
    name: str,
    *,
    inventory: InventoryLookup,
    dealership: Dealership | None = None,
    semantic: MeaningSearch | None = None,
    openai_base_url: str = DEFAULT_OPENAI_BASE_URL,
    openai_api_key: str = "",
    openai_model: str = DEFAULT_OPENAI_MODEL,
    llm_timeout_s: float = DEFAULT_TIMEOUT_S,
    http: httpx.Client | None = None,
) -> ConversationEngine:
    """The engine called `name`. The LLM engine falls back to the rule-based one.

    Raises SettingsError (a ValueError) for an unknown name, and for `llm` without an API key.
    """
    engine_name = name.strip().lower() or DEFAULT_ENGINE
    if engine_name not in ENGINE_NAMES:
        raise SettingsError(
            f"unknown conversation engine CONVERSATION_ENGINE={name!r}:"
            f" expected one of {', '.join(ENGINE_NAMES)}"
        )
    facts = dealership or default_dealership()
    rules = RuleBasedEngine(inventory, facts, semantic)
    if engine_name == "rules":
        return rules
    if not openai_api_key:
        raise SettingsError("the llm conversation engine needs an API key: missing OPENAI_API_KEY")
    return LLMEngine(
        openai_base_url,
        openai_api_key,
        openai_model,
        inventory,
        facts,
        fallback=rules,
        timeout_s=llm_timeout_s,
        http=http,
    )
