"""The rule-based engine names what each reply answers (`EngineReply.intent`), for the worker's log line."""

from __future__ import annotations

import pytest

from tests.zapq.conversation.messages import burst, media, new_customer
from zapq.conversation.rules import RuleBasedEngine


@pytest.mark.parametrize(
    ("texts", "intent"),
    [
        (["vocês têm o Corolla 2024?"], "search"),
        (["quais carros vocês têm?"], "search"),  # the whole stock is a search too
        (["quanto custa o Onix?"], "price"),
        (["quero agendar um test drive"], "test_drive"),
        (["quero falar com um atendente"], "handoff"),
        (["PARAR"], "opt_out"),
        (["obrigado"], "small_talk"),
        (["boa tarde"], "small_talk"),
        (["asdfgh"], "menu"),
    ],
    ids=["search", "listing", "price", "test_drive", "handoff", "opt_out", "thanks", "greeting", "menu"],
)
def test_each_kind_of_request_is_named_on_the_reply(rules: RuleBasedEngine, texts: list[str], intent: str):
    assert rules.reply(new_customer(), burst(*texts)).intent == intent


def test_a_photo_alone_is_answered_as_media(rules: RuleBasedEngine):
    assert rules.reply(new_customer(), [media("image")]).intent == "media"


def test_a_burst_of_reactions_names_nothing_and_says_nothing(rules: RuleBasedEngine):
    reply = rules.reply(new_customer(), [media("reaction")])

    assert (reply.text, reply.intent) == ("", "")
