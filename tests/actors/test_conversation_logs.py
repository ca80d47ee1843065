"""One customer's message can be followed from the logs alone: received, answered, sent (or why not).

Real web app (its records read with caplog), a real `dramatiq` worker process (its output read
line by line) and the Graph API stand-in on 127.0.0.1. Both logs are merged on their timestamps
into one story; every line names the customer by the same hash, never by the phone number.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import datetime

import psycopg
import pytest

from tests.support import meta_samples as meta
from tests.support.graph_api import GraphApi, graph_error
from tests.support.whatsapp import post_messages, text
from tests.support.worker_process import WorkerProcess
from zapq.customer_ids import customer_tag

ANA = meta.USER_WA_ID
BRUNO = "5521999990000"
WORKER_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) (\w+) (\S+) (.*)$")


def story(caplog: pytest.LogCaptureFixture, worker: WorkerProcess) -> list[tuple[str, str]]:
    """(level, message) of the web's records and the worker's lines, in the order they were written."""
    lines = [(record.created, record.levelname, record.getMessage()) for record in caplog.records]
    for line in worker.output.splitlines():
        if match := WORKER_LINE.match(line):
            at = datetime.strptime(match[1], "%Y-%m-%d %H:%M:%S,%f").timestamp()
            lines.append((at, match[2], match[4]))
    return [(level, message) for _, level, message in sorted(lines, key=lambda line: line[0])]


def index_of(lines: list[tuple[str, str]], pattern: str) -> int:
    found = [i for i, (_, message) in enumerate(lines) if re.fullmatch(pattern, message)]
    assert len(found) == 1, f"{pattern!r} in:\n" + "\n".join(message for _, message in lines)
    return found[0]


@pytest.fixture
def start_worker(worker_process, graph_api: GraphApi):  # type: ignore[no-untyped-def]
    def start() -> WorkerProcess:
        return worker_process("actors", processes=1, threads=2, env={"WHATSAPP_API_URL": graph_api.url})

    return start


@pytest.fixture(autouse=True)
def info_records(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)


def test_a_message_is_received_answered_and_sent_under_one_customer_hash_and_never_the_number(
    whatsapp, graph_api: GraphApi, start_worker, inventory, db: psycopg.Connection, caplog, wait_until
):
    worker = start_worker()
    post_messages(whatsapp, text("wamid.story", "tem HB20?"))
    wait_until(lambda: graph_api.assigned and graph_api.assigned[0] in worker.output, timeout=20, what="sent")

    lines = story(caplog, worker)
    tag = re.escape(customer_tag(ANA))
    hb20 = ",".join(
        str(row[0]) for row in db.execute("SELECT id FROM vehicles WHERE model = 'HB20' ORDER BY id")
    )
    received = index_of(lines, rf"webhook received: messages=1 \(text=1\) statuses=0 customers={tag}")
    answered = index_of(
        lines,
        rf"burst \S+ customer={tag} answered 1 message\(s\): intent=search vehicles={hb20} engine=rules",
    )
    sent = index_of(lines, rf"sent buttons {re.escape(graph_api.assigned[0])} customer={tag} \(reply:\S+\)")
    assert received < answered < sent
    assert [message for _, message in lines if ANA in message] == []
    assert "HTTP Request" not in worker.output  # httpx's line per request stays out at INFO


def test_a_refused_send_names_the_destination_and_graphs_error_code(
    whatsapp, graph_api: GraphApi, start_worker, db: psycopg.Connection, caplog, wait_until
):
    graph_api.fail_sends(graph_error(131026, "Message undeliverable"))
    worker = start_worker()
    post_messages(whatsapp, text("wamid.undeliverable", "oi"))
    wait_until(lambda: "send failed" in worker.output, timeout=20, what="the failure")

    lines = story(caplog, worker)
    url = re.escape(f"{graph_api.url}/{meta.PHONE_NUMBER_ID}/messages")
    index_of(
        lines,
        rf"send failed: buttons customer={re.escape(customer_tag(ANA))} url={url} code=131026 http=400,"
        rf" not retried \(reply:\S+\): \(#131026\) Message undeliverable; Some details",
    )
    assert [level for level, message in lines if message.startswith("send failed")] == ["WARNING"]
    assert [message for _, message in lines if ANA in message] == []


def test_a_rate_limited_send_is_logged_as_retried_then_sent(
    whatsapp, graph_api: GraphApi, start_worker, caplog, wait_until
):
    graph_api.fail_sends(graph_error(130429, http_status=429))
    worker = start_worker()
    post_messages(whatsapp, text("wamid.limited", "oi"))
    wait_until(lambda: len(graph_api.assigned) == 1 and graph_api.assigned[0] in worker.output, timeout=30)

    lines = story(caplog, worker)
    tag = re.escape(customer_tag(ANA))
    failed = index_of(
        lines, rf"send failed: buttons customer={tag} url=\S+ code=130429 http=429, retried later .*"
    )
    sent = index_of(lines, rf"sent buttons {re.escape(graph_api.assigned[0])} customer={tag} .*")
    assert failed < sent


def test_a_stale_message_and_a_conversation_with_a_person_are_skipped_each_with_its_reason(
    whatsapp, graph_api: GraphApi, start_worker, db: psycopg.Connection, caplog, wait_until
):
    db.execute(
        "INSERT INTO conversations (phone_number_id, wa_id, mode) VALUES (%s, %s, 'human')",
        (meta.PHONE_NUMBER_ID, BRUNO),
    )
    worker = start_worker()
    post_messages(whatsapp, text("wamid.old", "oi", sent_at=time.time() - 2 * 86_400))
    post_messages(whatsapp, text("wamid.bruno", "oi", sender=BRUNO))
    wait_until(lambda: worker.output.count(" skipped") >= 2, timeout=20, what="both skips")

    lines = story(caplog, worker)
    index_of(
        lines,
        rf"burst \S+ customer={re.escape(customer_tag(ANA))} skipped 1 stale message\(s\): older than .*",
    )
    index_of(
        lines,
        rf"burst \S+ customer={re.escape(customer_tag(BRUNO))} skipped: human mode,"
        r" a person has the conversation",
    )
    assert graph_api.sends() == []
    assert [message for _, message in lines if ANA in message or BRUNO in message] == []
