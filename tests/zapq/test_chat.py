"""`make chat` against a real `make run` demo: a person types, the bot answers, a number taps a button.

The run is `python -m zapq.run` with no Cloud API configured (so it serves its stand-in), on the
session's Redis and PostgreSQL; the chat is `python -m zapq.chat` fed through its stdin.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import msgspec
import psycopg
import pytest

from tests.support.waiting import wait_until
from tests.support.zapq_run import ROOT, ZapqRun, free_port
from zapq.demo.outgoing import Outgoing, describe
from zapq.demo.running import find_local_run
from zapq.settings import SETTINGS_DOCS

pytestmark = pytest.mark.processes

CUSTOMER = "5511912345678"


class ChatProcess:
    """`python -m zapq.chat` with a pipe for stdin and its output collected as it comes."""

    def __init__(self, data_dir: Path, *arguments: str, **environment: str) -> None:
        env = {name: value for name, value in os.environ.items() if name not in SETTINGS_DOCS}
        env.update({"ZAPQ_DATA_DIR": str(data_dir), **environment})
        self.process = subprocess.Popen(
            [sys.executable, "-m", "zapq.chat", *arguments], cwd=ROOT, env=env, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def type(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def bot_messages(self) -> int:
        return sum(line.startswith("bot: ") for line in self.lines)

    def wait_for_bot_messages(self, count: int) -> None:
        wait_until(
            lambda: self.bot_messages() >= count, timeout=30, what=f"bot message {count}:\n{self.output}"
        )

    def finish(self, timeout: float = 15) -> int:
        code = self.process.wait(timeout=timeout)
        self._reader.join(timeout=5)
        return code

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))


@pytest.fixture
def demo_run(settings, tmp_path: Path) -> Iterator[ZapqRun]:  # type: ignore[no-untyped-def]
    """`make run` in demo mode: no WhatsApp token or API URL, the session's servers."""
    run = ZapqRun(
        {
            "ZAPQ_DATA_DIR": str(tmp_path / "data"), "REDIS_URL": settings.redis_url,
            "DATABASE_URL": settings.database_url, "WEB_PORT": str(free_port()),
            "METRICS_PORT": str(free_port()), "WORKER_PROCESSES": "1", "WORKER_THREADS": "2",
            "DEBOUNCE_WINDOW_SECONDS": "0.5", "DEBOUNCE_MAX_WAIT_SECONDS": "3",
        },
        log_path=tmp_path / "run.log",
    ).start()  # fmt: skip
    yield run
    run.stop()


def test_a_person_types_as_a_customer_and_sees_the_bots_replies_taps_and_sends_a_photo_and_a_location(
    demo_run: ZapqRun, db: psycopg.Connection, tmp_path: Path
) -> None:
    assert db.execute("SELECT count(*) FROM vehicles").fetchone()[0] > 0  # the demo stock, seeded by the run
    chat = ChatProcess(tmp_path / "data", "--wa-id", CUSTOMER, "--name", "Ana")
    try:
        chat.type("oi")
        chat.wait_for_bot_messages(1)
        assert "  1) " in chat.output  # the bot's buttons, numbered
        chat.type("1")
        chat.wait_for_bot_messages(2)
        chat.type("/foto olha o meu carro")
        chat.wait_for_bot_messages(3)
        chat.type("/local")
        chat.wait_for_bot_messages(4)
        chat.type("/sair")
        assert chat.finish() == 0
    finally:
        chat.process.kill()
    assert "Traceback" not in chat.output, chat.output

    run = find_local_run(tmp_path / "data")
    assert run is not None and run.is_demo
    sent = httpx.get(f"{run.cloud_api_url}/demo/conversations/{CUSTOMER}").json()["messages"]
    first_lines = [describe(msgspec.convert(message, Outgoing))[0] for message in sent]
    assert len(sent) == 4 and all(f"bot: {line}" in chat.output for line in first_lines)  # what the bot said
    first_button = sent[0]["choices"][0]
    assert f"(tapped: {first_button['title']})" in chat.output
    rows = db.execute(
        "SELECT kind, text, payload::text FROM inbound_messages WHERE wa_id = %s"
        " ORDER BY sent_at, recorded_at",
        (CUSTOMER,),
    ).fetchall()
    assert [kind for kind, _, _ in rows] == ["text", "interactive", "image", "location"]
    assert first_button["id"] in rows[1][2]  # the tap carries the button's id
    assert rows[2][1] == "olha o meu carro"  # the photo's caption
    assert f"whatsapp stand-in: to {CUSTOMER}" in demo_run.log_tail(400)  # the run shows what it sent


def test_ctrl_c_in_the_chat_quits_without_a_traceback(demo_run: ZapqRun, tmp_path: Path) -> None:
    chat = ChatProcess(tmp_path / "data")
    wait_until(lambda: "Chatting as" in chat.output, timeout=15, what="the chat to start")

    chat.process.send_signal(signal.SIGINT)

    assert chat.finish() == 0
    assert "Traceback" not in chat.output, chat.output


def test_the_chat_says_it_needs_demo_mode_when_whatsapp_is_configured(tmp_path: Path) -> None:
    chat = ChatProcess(tmp_path / "data", WHATSAPP_ACCESS_TOKEN="EAAG-real")

    assert chat.finish() == 2
    assert "needs make run in demo mode" in chat.output and "Traceback" not in chat.output


def test_the_chat_says_so_when_no_make_run_is_up(tmp_path: Path) -> None:
    chat = ChatProcess(tmp_path / "data", "--wait", "0")

    assert chat.finish() == 2
    assert "no make run is up" in chat.output and "Traceback" not in chat.output
