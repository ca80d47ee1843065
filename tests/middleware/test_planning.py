"""Planning is a pure function of the message: what it asks of Redis, decided without Redis."""

from __future__ import annotations

import json
import re

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker
from dramatiq.message import Message

from middleware.debounce import unpack_batch
from middleware.errors import InvalidFlowOption, UnkeyableMessage
from middleware.flow_control import FlowControl
from middleware.keyspace import Keyspace, safe_part
from middleware.options import scheduled_slot_ms, validate_options
from middleware.planning import Defaults, plan_message

DEFAULTS = Defaults(
    lease_ms=30_000, idempotency_ttl=86_400_000, debounce_window=2000, debounce_max_wait=10_000,
    debounce_max_items=100,
)  # fmt: skip
KEYS = Keyspace("ns:zapq")


@pytest.fixture
def stub_broker(redis_client) -> StubBroker:  # type: ignore[no-untyped-def]
    """A broker that only declares actors: planning never talks to it."""
    broker = StubBroker(middleware=[FlowControl(client=redis_client)])
    return broker


def message(actor: dramatiq.Actor, *args: object, **options: object) -> Message:  # type: ignore[type-arg]
    return Message(queue_name="default", actor_name=actor.actor_name, args=args, kwargs={}, options=options)


def test_an_idempotent_message_plans_one_guard_that_keeps_the_actors_ttl(stub_broker) -> None:
    options = {"idempotency_key": "order", "idempotency_ttl": 60_000}
    actor = dramatiq.actor(lambda order: None, actor_name="charge", broker=stub_broker, **options)

    plan = plan_message(actor, message(actor, "o-1"), DEFAULTS, KEYS)

    assert plan is not None and plan.mode == "run"
    assert [(guard.key, guard.kind, guard.done_ttl_ms) for guard in plan.guards] == [
        ("ns:zapq:guard:charge:idem:o-1", "idem", 60_000)
    ]


def test_a_message_with_no_flow_option_needs_no_plan(stub_broker) -> None:
    actor = dramatiq.actor(lambda: None, actor_name="plain", broker=stub_broker)

    assert plan_message(actor, message(actor), DEFAULTS, KEYS) is None


def test_a_debounced_dedup_guard_keeps_its_window_not_the_idempotency_ttl(stub_broker) -> None:
    actor = dramatiq.actor(lambda item: None, actor_name="reply", broker=stub_broker, debounce="user",
                           idempotency_key="mid", dedup=1000)  # fmt: skip

    plan = plan_message(actor, message(actor, {"user": "u", "mid": "m"}), DEFAULTS, KEYS)

    assert plan is not None and plan.mode == "merge"
    assert {guard.kind: guard.done_ttl_ms for guard in plan.guards} == {"idem": 86_400_000, "dedup": 1000}


def test_a_key_function_that_raises_makes_the_message_unkeyable_not_unguarded(stub_broker) -> None:
    actor = dramatiq.actor(lambda *args, **kwargs: None, actor_name="reengage", broker=stub_broker,
                           throttle=lambda args, kwargs: f"{args[0]}:{args[1]}")  # fmt: skip
    sent_with_kwargs = Message(queue_name="default", actor_name="reengage", args=(), kwargs={"user": "u"},
                               options={})  # fmt: skip

    with pytest.raises(UnkeyableMessage, match="IndexError"):
        plan_message(actor, sent_with_kwargs, DEFAULTS, KEYS)


def test_a_bad_option_on_the_message_makes_it_unkeyable(stub_broker) -> None:
    actor = dramatiq.actor(lambda order: None, actor_name="pay", broker=stub_broker, idempotency_key="order")

    with pytest.raises(UnkeyableMessage, match="lease_ms"):
        plan_message(actor, message(actor, "o-1", lease_ms=0), DEFAULTS, KEYS)


def test_ticks_of_one_minute_share_a_slot_whatever_the_second_or_time_zone() -> None:
    slot = scheduled_slot_ms("2026-12-01T12:00:00+00:00")

    assert scheduled_slot_ms("2026-12-01T12:00:03+00:00") == slot
    assert scheduled_slot_ms("2026-12-01T09:00:59-03:00") == slot
    assert scheduled_slot_ms("2026-12-01T12:01:00+00:00") == slot + 60_000


@pytest.mark.parametrize("hostile", ["a:b", "*", "{x}", "k" * 1024, "olá", "\udc80", "", "a b"])
def test_hostile_key_parts_become_a_hash_and_plain_ones_stay_readable(hostile: str) -> None:
    part = safe_part(hostile)

    assert re.fullmatch(r"#[0-9a-f]{64}", part)
    assert safe_part("wamid.HBgLNTUxMTk=") == "wamid.HBgLNTUxMTk="


@pytest.mark.parametrize(
    ("option", "value"),
    [("lease_ms", 0), ("idempotency_ttl", 0), ("idempotency_ttl", -5), ("throttle_limit", 0),
     ("debounce_max_items", 2.5), ("dedup", True), ("throttle_mode", "sometimes"),
     ("keep_key_on_failure", "yes")],
)  # fmt: skip
def test_option_values_the_scripts_cannot_use_are_refused_by_name(option: str, value: object) -> None:
    with pytest.raises(InvalidFlowOption, match=option):
        validate_options("actor", {option: value})


def test_declaring_an_actor_with_a_bad_option_fails_at_declaration(stub_broker) -> None:
    with pytest.raises(InvalidFlowOption, match="lease_ms"):
        dramatiq.actor(lambda: None, actor_name="bad", broker=stub_broker, idempotency_key="k", lease_ms=0)


def test_a_batch_unpacks_in_send_order_and_keeps_lone_surrogates() -> None:
    def entry(sent: int, item: object) -> bytes:
        header = json.dumps({"g": [], "x": [], "t": sent})
        return (header + "\n" + json.dumps(item)).encode()

    entries = [entry(2, {"text": "b \ud83d"}), b'{"f":20,"o":10}', entry(1, {"text": "a"})]

    items, options = unpack_batch(entries)

    assert items == [{"text": "a"}, {"text": "b \ud83d"}]
    assert options == {"zapq_window_opened_at_ms": 10, "zapq_flushed_at_ms": 20}
