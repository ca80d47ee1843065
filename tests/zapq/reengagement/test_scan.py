"""Who a scan proposes, from PostgreSQL's tables at an injected instant (the trigger included)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import psycopg

from tests.support.campaigns import PNID, arriving, conversation, said, stock, stocked_long_ago
from tests.support.embeddings import unreachable_provider
from zapq.embeddings.providers import EmbeddingProvider
from zapq.reengagement.campaigns import CampaignType, Candidate, quiet_subject, vehicle_subject
from zapq.reengagement.matching import CriteriaMatcher, InterestMatcher
from zapq.reengagement.quiet_hours import QuietHours
from zapq.reengagement.rules import Policy
from zapq.reengagement.scan import find_candidates, inventory_watermark, load_known_models
from zapq.reengagement.semantic_matching import SemanticMatcher

POLICY = Policy(
    enabled=True,
    quiet_hours=QuietHours.parse("00:00-00:00", "America/Sao_Paulo"),
    max_per_customer=2,
    window=dt.timedelta(days=7),
    lookback=dt.timedelta(days=30),
    templates={campaign: f"tpl_{campaign}" for campaign in CampaignType},
)


def test_inactive_48h_is_a_lead_we_answered_who_has_been_quiet_for_48h(db):
    now = dt.datetime.now(dt.UTC)
    quiet = now - dt.timedelta(hours=49)
    conversation(db, "5511000000001", quiet, replied_at=quiet + dt.timedelta(seconds=3))
    conversation(db, "5511000000002", now - dt.timedelta(hours=47), replied_at=now - dt.timedelta(hours=47))
    conversation(db, "5511000000003", quiet)  # we never answered: the last word is theirs
    conversation(db, "5511000000004", quiet, replied_at=quiet, opted_out=True)
    conversation(db, "5511000000005", quiet, replied_at=quiet, mode="human")
    conversation(db, "5511000000006", now - dt.timedelta(days=40), replied_at=now - dt.timedelta(days=40))

    found = find_candidates(db, [CampaignType.INACTIVE_48H], now, POLICY)

    assert found == [
        Candidate(
            phone_number_id=PNID, wa_id="5511000000001", campaign_type=CampaignType.INACTIVE_48H,
            subject=quiet_subject(int(quiet.timestamp())),
        )
    ]  # fmt: skip


def test_an_open_handoff_hides_a_lead_until_it_is_released(db):
    now = dt.datetime.now(dt.UTC)
    quiet = now - dt.timedelta(hours=49)
    conversation(db, "5511000000001", quiet, replied_at=quiet)
    db.execute(
        "INSERT INTO handoffs (handoff_id, phone_number_id, wa_id, reason, summary)"
        " VALUES ('h', %s, %s, 'r', 's')",
        (PNID, "5511000000001"),
    )
    assert find_candidates(db, [CampaignType.INACTIVE_48H], now, POLICY) == []
    db.execute("UPDATE conversations SET released_at = now() + interval '1 second'")
    assert len(find_candidates(db, [CampaignType.INACTIVE_48H], now + dt.timedelta(seconds=2), POLICY)) == 1


def test_new_cars_offers_a_car_arriving_after_the_lead_asked_for_one_like_it(db):
    asked_at = dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)
    conversation(db, "5511000000001", asked_at, replied_at=asked_at)
    said(db, "5511000000001", "vocês têm Corolla até 150 mil?", asked_at)
    conversation(db, "5511000000002", asked_at, replied_at=asked_at)
    said(db, "5511000000002", "procuro uma Hilux", asked_at)
    before = inventory_watermark(db)
    corolla = stock(db, "C1", "Toyota", "Corolla", 139_990)
    stock(db, "C2", "Toyota", "Corolla", 189_990)  # over the budget
    stock(db, "O1", "Chevrolet", "Onix", 79_900)

    found = find_candidates(db, [CampaignType.NEW_CARS], dt.datetime.now(dt.UTC), POLICY)

    assert inventory_watermark(db) == before + 3  # the trigger recorded each arrival
    assert [(c.wa_id, c.vehicle_id, c.subject) for c in found] == [
        ("5511000000001", corolla, vehicle_subject(corolla))
    ]


def test_price_drop_offers_a_car_shown_to_the_lead_that_got_cheaper_since(db):
    onix = stock(db, "O1", "Chevrolet", "Onix", 79_900)
    compass = stock(db, "J1", "Jeep", "Compass", 150_000)
    seen_at = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    conversation(db, "5511000000001", seen_at, replied_at=seen_at, shown=f"{onix},{compass}")
    db.execute("UPDATE vehicles SET price = 74900 WHERE id = %s", (onix,))
    db.execute("UPDATE vehicles SET price = 155000 WHERE id = %s", (compass,))  # dearer: no news
    db.execute("UPDATE vehicles SET colour = 'preto' WHERE id = %s", (compass,))  # not a price change

    found = find_candidates(db, [CampaignType.PRICE_DROP], dt.datetime.now(dt.UTC), POLICY)

    assert [(c.campaign_type, c.vehicle_id) for c in found] == [(CampaignType.PRICE_DROP, onix)]
    changes = db.execute(
        "SELECT vehicle_id, kind, old_price, new_price FROM inventory_changes WHERE kind = 'price'"
    )
    assert [(v, float(old), float(new)) for v, _, old, new in changes] == [
        (onix, 79_900.0, 74_900.0),
        (compass, 150_000.0, 155_000.0),
    ]


def test_a_subject_already_sent_and_a_customer_at_the_cap_are_not_proposed_again(db):
    now = dt.datetime.now(dt.UTC)
    quiet = now - dt.timedelta(hours=49)
    conversation(db, "5511000000001", quiet, replied_at=quiet)
    conversation(db, "5511000000002", quiet, replied_at=quiet)
    db.execute(
        "INSERT INTO reengagement_sends (phone_number_id, wa_id, campaign_type, subject, message_kind,"
        " status, outbound_key) VALUES (%s, %s, 'inactive_48h', %s, 'template', 'sent', 'k1')",
        (PNID, "5511000000001", quiet_subject(int(quiet.timestamp()))),
    )
    db.execute(
        "INSERT INTO reengagement_sends (phone_number_id, wa_id, campaign_type, subject, message_kind,"
        " status, outbound_key) VALUES (%s, %s, 'new_cars', 'vehicle:1', 'text', 'sent', 'k2'),"
        " (%s, %s, 'price_drop', 'vehicle:1', 'text', 'sent', 'k3')",
        (PNID, "5511000000002", PNID, "5511000000002"),
    )
    assert find_candidates(db, [CampaignType.INACTIVE_48H], now, POLICY) == []
    assert (
        len(find_candidates(db, [CampaignType.INACTIVE_48H], now, replace(POLICY, max_per_customer=3))) == 1
    )


def electric_car_leads(db: psycopg.Connection) -> tuple[int, int]:
    """Ana named the Dolphin, Bia described it; the Dolphin and a Hilux arrive after they wrote."""
    asked_at = dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)
    stocked_long_ago(db)
    for wa_id, text in (("5511000000001", "procuro um BYD Dolphin elétrico"),
                        ("5511000000002", "quero um carro que não gaste gasolina")):  # fmt: skip
        conversation(db, wa_id, asked_at, replied_at=asked_at)
        said(db, wa_id, text, asked_at)
    arrived = arriving(db, "ZQ-0040", "ZQ-0003")
    return arrived["ZQ-0040"], arrived["ZQ-0003"]


def new_cars(db: psycopg.Connection, matchers: list[InterestMatcher]) -> list[tuple[str, int | None]]:
    found = find_candidates(db, [CampaignType.NEW_CARS], dt.datetime.now(dt.UTC), POLICY, matchers)
    return sorted((candidate.wa_id, candidate.vehicle_id) for candidate in found)


def test_new_cars_by_criteria_and_by_meaning_propose_each_customer_and_car_once(
    db: psycopg.Connection, embedded_inventory: int, local_model: EmbeddingProvider
):
    dolphin, _ = electric_car_leads(db)
    criteria = CriteriaMatcher(tuple(load_known_models(db)))

    assert new_cars(db, [criteria]) == [("5511000000001", dolphin)]
    assert new_cars(db, [SemanticMatcher(local_model, db)]) == [
        ("5511000000001", dolphin), ("5511000000002", dolphin)
    ]  # fmt: skip
    assert new_cars(db, [criteria, SemanticMatcher(local_model, db)]) == [
        ("5511000000001", dolphin), ("5511000000002", dolphin)
    ]  # fmt: skip


def test_with_the_embeddings_provider_down_new_cars_are_still_matched_by_criteria(
    db: psycopg.Connection, embedded_inventory: int, local_model: EmbeddingProvider
):
    dolphin, _ = electric_car_leads(db)
    down = SemanticMatcher(unreachable_provider(local_model.model), db)

    assert new_cars(db, [CriteriaMatcher(tuple(load_known_models(db))), down]) == [("5511000000001", dolphin)]
