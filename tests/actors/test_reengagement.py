"""Re-engagement end to end: real Redis, PostgreSQL and worker, the Graph API a server on 127.0.0.1.

Each rule by name (throttle, global cap, opt-out, human mode, quiet hours, template outside the
window and text inside it, 131049), a conversion, and the scans: on inventory change once per
state of the stock, and one per tick from two real periodiq schedulers.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from prometheus_client import REGISTRY

from actors.reengagement import request_inventory_scan, scan_reengagement, send_reengagement
from tests.middleware.helpers import decisions
from tests.support import meta_samples as meta
from tests.support.campaigns import PNID, arriving, conversation, said, stock, stocked_long_ago
from tests.support.graph_api import GraphApi, graph_error
from tests.support.whatsapp import post_messages, text
from zapq.reengagement.campaigns import CampaignType, Candidate, quiet_subject, vehicle_subject
from zapq.reengagement.scan import inventory_watermark
from zapq.settings import get_settings

ROOT = Path(__file__).resolve().parents[2]
ANA = meta.USER_WA_ID
TEMPLATES = {
    "REENGAGEMENT_TEMPLATE_INACTIVE_48H": "volte_sempre",
    "REENGAGEMENT_TEMPLATE_NEW_CARS": "chegou_carro",
    "REENGAGEMENT_TEMPLATE_PRICE_DROP": "baixou_preco",
}


@pytest.fixture(autouse=True)
def campaigns_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    """Templates approved, and no quiet hours: the suite may run at night."""
    for name, value in TEMPLATES.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("REENGAGEMENT_QUIET_HOURS", "00:00-00:00")
    get_settings.cache_clear()


def sent_count(campaign: CampaignType, outcome: str) -> float:
    labels = {"campaign_type": campaign.value, "outcome": outcome}
    return REGISTRY.get_sample_value("zapq_reengagement_sent_total", labels) or 0.0


def conversions(campaign: CampaignType) -> float:
    labels = {"campaign_type": campaign.value}
    return REGISTRY.get_sample_value("zapq_reengagement_conversions_total", labels) or 0.0


def drain(broker, worker) -> None:  # type: ignore[no-untyped-def]
    broker.join("low_priority", timeout=20_000)
    worker.join()


def candidate(campaign: CampaignType, subject: str, vehicle_id: int | None = None, wa_id: str = ANA) -> dict:
    return Candidate(
        phone_number_id=PNID, wa_id=wa_id, campaign_type=campaign, subject=subject, vehicle_id=vehicle_id
    ).to_wire()


def sends(db: psycopg.Connection) -> list[tuple]:
    return db.execute(
        "SELECT wa_id, campaign_type, message_kind, status, error_code FROM reengagement_sends ORDER BY id"
    ).fetchall()


def hours_ago(hours: float) -> dt.datetime:
    return dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours)


def test_outside_the_24h_window_a_quiet_lead_gets_the_template_with_their_name(
    broker, worker, graph_api: GraphApi, db
):
    quiet = hours_ago(49)
    conversation(db, ANA, quiet, replied_at=quiet)

    scan_reengagement.send()
    drain(broker, worker)

    [send] = graph_api.sends()
    assert send["type"] == "template" and send["to"] == ANA
    assert send["template"] == {
        "name": "volte_sempre",
        "language": {"code": "pt_BR"},
        "components": [{"type": "body", "parameters": [{"type": "text", "text": "Ana"}]}],
    }
    assert sends(db) == [(ANA, "inactive_48h", "template", "sent", None)]
    assert db.execute("SELECT trigger, enqueued FROM reengagement_scans").fetchall() == [("manual", 1)]


def test_inside_the_24h_window_a_new_car_goes_as_free_text_with_car_and_price(
    broker, worker, graph_api: GraphApi, db
):
    conversation(db, ANA, hours_ago(2), replied_at=hours_ago(2))
    said(db, ANA, "vocês têm Corolla?", hours_ago(2))
    corolla = stock(db, "C1", "Toyota", "Corolla", 139_990)

    scan_reengagement.send()
    drain(broker, worker)

    [send] = graph_api.sends()
    assert send["type"] == "text"
    assert "Toyota Corolla 2023" in send["text"]["body"] and "R$ 139.990,00" in send["text"]["body"]
    assert db.execute("SELECT vehicle_id, status FROM reengagement_sends").fetchall() == [(corolla, "sent")]


def test_a_lead_who_described_a_need_hears_of_the_car_that_arrived_to_fit_it(
    broker, worker, graph_api: GraphApi, db, embedded_inventory
):
    stocked_long_ago(db)
    conversation(db, ANA, hours_ago(2), replied_at=hours_ago(2))
    said(db, ANA, "quero um carro que não gaste gasolina", hours_ago(2))  # no make, model or budget
    arrived = arriving(db, "ZQ-0040", "ZQ-0003")  # the BYD Dolphin and a diesel Hilux

    scan_reengagement.send()
    drain(broker, worker)

    [send] = graph_api.sends()
    assert "BYD Dolphin" in send["text"]["body"]
    assert db.execute("SELECT vehicle_id FROM reengagement_sends").fetchall() == [(arrived["ZQ-0040"],)]


def test_throttle_allows_one_message_per_customer_and_campaign_per_24h(broker, worker, graph_api, db):
    conversation(db, ANA, hours_ago(1), replied_at=hours_ago(1))
    first, second = stock(db, "C1", "Toyota", "Corolla", 139_990), stock(db, "C2", "Toyota", "Yaris", 99_990)
    dropped_before = decisions(send_reengagement, "throttled_dropped")

    send_reengagement.send(candidate(CampaignType.NEW_CARS, vehicle_subject(first), first))
    send_reengagement.send(candidate(CampaignType.NEW_CARS, vehicle_subject(second), second))
    drain(broker, worker)

    assert len(graph_api.sends()) == 1
    assert decisions(send_reengagement, "throttled_dropped") == dropped_before + 1
    assert len(sends(db)) == 1  # the other car is proposed again by a scan after 24 h


def test_global_cap_allows_two_messages_per_customer_across_campaigns(broker, worker, graph_api, db):
    quiet = hours_ago(49)
    onix, hb20 = stock(db, "O1", "Chevrolet", "Onix", 79_900), stock(db, "H1", "Hyundai", "HB20", 72_990)
    conversation(db, ANA, quiet, replied_at=quiet, shown=str(hb20))
    capped_before = sent_count(CampaignType.INACTIVE_48H, "skipped_customer_cap") + sum(
        sent_count(c, "skipped_customer_cap") for c in (CampaignType.NEW_CARS, CampaignType.PRICE_DROP)
    )

    send_reengagement.send(candidate(CampaignType.INACTIVE_48H, quiet_subject(int(quiet.timestamp()))))
    send_reengagement.send(candidate(CampaignType.NEW_CARS, vehicle_subject(onix), onix))
    send_reengagement.send(candidate(CampaignType.PRICE_DROP, vehicle_subject(hb20), hb20))
    drain(broker, worker)

    assert len(graph_api.sends()) == 2
    assert [status for *_, status, _ in sends(db)] == ["sent", "sent"]
    capped = sum(sent_count(c, "skipped_customer_cap") for c in CampaignType)
    assert capped == capped_before + 1


def test_opt_out_and_human_mode_and_an_open_handoff_are_never_sent_to(broker, worker, graph_api, db):
    quiet = hours_ago(49)
    opted, human, handed = "5511900000001", "5511900000002", "5511900000003"
    conversation(db, opted, quiet, replied_at=quiet, opted_out=True)
    conversation(db, human, quiet, replied_at=quiet, mode="human")
    conversation(db, handed, quiet, replied_at=quiet)
    db.execute(
        "INSERT INTO handoffs (handoff_id, phone_number_id, wa_id, reason, summary)"
        " VALUES ('h', %s, %s, 'r', 's')",
        (PNID, handed),
    )
    subject = quiet_subject(int(quiet.timestamp()))
    campaign = CampaignType.INACTIVE_48H
    before = (sent_count(campaign, "skipped_opted_out"), sent_count(campaign, "skipped_human_mode"))

    for wa_id in (opted, human, handed):
        send_reengagement.send(candidate(campaign, subject, wa_id=wa_id))
    drain(broker, worker)

    assert graph_api.sends() == [] and sends(db) == []
    after = (sent_count(campaign, "skipped_opted_out"), sent_count(campaign, "skipped_human_mode"))
    assert after == (before[0] + 1, before[1] + 2)


def test_quiet_hours_defer_the_message_to_their_end_not_drop_it(
    broker, worker, graph_api, db, monkeypatch, wait_until
):
    zone = dt.timezone(dt.timedelta(hours=-3))  # America/Sao_Paulo has no DST since 2019
    now = dt.datetime.now(zone)
    ends = (now + dt.timedelta(seconds=4)).replace(microsecond=0)
    monkeypatch.setenv(
        "REENGAGEMENT_QUIET_HOURS", f"{(now - dt.timedelta(minutes=5)):%H:%M:%S}-{ends:%H:%M:%S}"
    )
    get_settings.cache_clear()
    quiet = hours_ago(49)
    conversation(db, ANA, quiet, replied_at=quiet)
    deferred_before = sent_count(CampaignType.INACTIVE_48H, "deferred_quiet_hours")

    send_reengagement.send(candidate(CampaignType.INACTIVE_48H, quiet_subject(int(quiet.timestamp()))))
    wait_until(
        lambda: sent_count(CampaignType.INACTIVE_48H, "deferred_quiet_hours") == deferred_before + 1,
        timeout=10,
    )
    while time.time() < ends.timestamp() - 0.1:  # nothing goes out while the quiet hours last
        assert graph_api.sends() == []
        time.sleep(0.05)

    wait_until(lambda: len(graph_api.sends()) == 1, timeout=15, what="the deferred message")
    assert sends(db) == [(ANA, "inactive_48h", "template", "sent", None)]


def test_131049_is_recorded_on_the_row_and_never_retried(broker, worker, graph_api: GraphApi, db):
    quiet = hours_ago(49)
    conversation(db, ANA, quiet, replied_at=quiet)
    graph_api.fail_sends(graph_error(131049, "This message was not delivered to maintain healthy ecosystem"))

    scan_reengagement.send()
    drain(broker, worker)
    scan_reengagement.send()  # the next hour's scan
    drain(broker, worker)

    assert len(graph_api.sends()) == 1
    assert sends(db) == [(ANA, "inactive_48h", "template", "refused", 131049)]
    assert sent_count(CampaignType.INACTIVE_48H, "refused") >= 1


def test_a_reply_within_72h_counts_as_a_conversion(whatsapp, broker, worker, graph_api, db, wait_until):
    conversation(db, ANA, hours_ago(3), replied_at=hours_ago(3))
    said(db, ANA, "tem Onix?", hours_ago(3))
    stock(db, "O1", "Chevrolet", "Onix", 79_900)
    scan_reengagement.send()
    drain(broker, worker)
    assert [status for *_, status, _ in sends(db)] == ["sent"]
    before = conversions(CampaignType.NEW_CARS)

    post_messages(whatsapp, text("wamid.reply", "opa, quero ver o Onix"))
    wait_until(lambda: len(graph_api.sends()) == 2, timeout=15, what="the bot's answer to the reply")

    replied = db.execute("SELECT replied_at FROM reengagement_sends").fetchone()
    assert replied is not None and replied[0] is not None
    assert conversions(CampaignType.NEW_CARS) == before + 1


def test_an_inventory_change_starts_one_scan_per_state_of_the_stock(broker, worker, graph_api, db):
    conversation(db, ANA, hours_ago(2), replied_at=hours_ago(2))
    said(db, ANA, "procuro um Compass", hours_ago(2))
    stock(db, "J1", "Jeep", "Compass", 150_000)
    watermark = inventory_watermark(db)

    assert request_inventory_scan(watermark)
    drain(broker, worker)
    assert not request_inventory_scan(watermark)  # the same stock: already scanned
    drain(broker, worker)

    scans = db.execute("SELECT trigger, campaigns, enqueued FROM reengagement_scans").fetchall()
    assert scans == [(f"inventory:{watermark}", ["new_cars", "price_drop"], 1)]
    assert len(graph_api.sends()) == 1


@pytest.fixture
def schedulers(settings, tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.mark.processes
def test_two_periodiq_schedulers_give_one_scan_per_tick(
    settings, broker, worker, graph_api, db, schedulers, tmp_path, wait_until
):
    if dt.datetime.now().second >= 45:  # both must start within one minute
        time.sleep(61 - dt.datetime.now().second)
    env = {**os.environ, "REDIS_URL": settings.redis_url, "DATABASE_URL": settings.database_url}
    command = [str(Path(sys.executable).parent / "periodiq"), "tests.support.minute_scans:boot"]
    logs = [tmp_path / f"periodiq-{n}.log" for n in range(2)]
    for log in logs:
        schedulers.append(
            subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdout=log.open("wb"),
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        )

    def scheduled(log: Path) -> bool:
        return any(
            "Scheduling" in line and "scan_reengagement" in line for line in log.read_text().splitlines()
        )

    def both_sent() -> bool:
        return all(scheduled(log) for log in logs)

    wait_until(both_sent, timeout=40, what="both schedulers to send the scan's tick")
    drain(broker, worker)
    time.sleep(1.0)
    drain(broker, worker)

    ticks = db.execute("SELECT trigger FROM reengagement_scans WHERE trigger LIKE 'tick:%'").fetchall()
    assert len(ticks) == 1, [log.read_text()[-2000:] for log in logs]
    assert decisions(scan_reengagement, "dedup_dropped") >= 1  # the other scheduler's tick
