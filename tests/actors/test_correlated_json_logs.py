"""With LOG_FORMAT=json, one grep of a webhook's correlation id follows it to the reply, and no line
anywhere carries the customer's number.

A real `python -m web` and a real `dramatiq` worker, both writing JSON lines, and the Graph API
stand-in on 127.0.0.1. Two webhooks of one customer make one burst: it runs under the first one's id
and lists both, so either id finds the burst and its send.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import meta_samples as meta
from tests.support.graph_api import GraphApi
from tests.support.waiting import wait_until
from tests.support.whatsapp import APP_SECRET, text
from zapq.whatsapp.signature import sign

ROOT = Path(__file__).resolve().parents[2]
CUSTOMER = meta.USER_WA_ID
FIRST, SECOND = "req-first-4b1d", "req-second-9c2e"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class WebProcess:
    """`python -m web` with its output collected line by line."""

    def __init__(self, env: dict[str, str]) -> None:
        self.port = free_port()
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "web"], cwd=ROOT, env={**env, "WEB_PORT": str(self.port)},
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def answers(self) -> bool:
        assert self.process.poll() is None, "".join(self.lines)
        try:
            return httpx.get(f"{self.url}/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def json_env(graph_api: GraphApi) -> dict[str, str]:
    return {**os.environ, "LOG_FORMAT": "json", "WHATSAPP_API_URL": graph_api.url}


@pytest.fixture
def web(settings: Any, broker: Any, json_env: dict[str, str]) -> Iterator[WebProcess]:
    process = WebProcess(json_env)
    try:
        wait_until(process.answers, timeout=30, what="python -m web")
        yield process
    finally:
        process.stop()


def post_webhook(web: WebProcess, wamid: str, body: str, request_id: str) -> httpx.Response:
    payload = meta.body_with_messages(text(wamid, body))
    headers = {
        "content-type": "application/json", "x-hub-signature-256": sign(APP_SECRET, payload),
        "x-request-id": request_id,
    }  # fmt: skip
    return httpx.post(f"{web.url}/webhook/whatsapp", content=payload, headers=headers, timeout=10)


def json_lines(output: str) -> list[dict[str, Any]]:
    """Every JSON line of a process's output (dramatiq's main process adds a few plain ones)."""
    entries = []
    for line in output.splitlines():
        if line.startswith("{"):
            entries.append(json.loads(line))
    return entries


def with_id(entries: list[dict[str, Any]], correlation_id: str) -> list[str]:
    return [
        entry["message"]
        for entry in entries
        if entry.get("correlation_id") == correlation_id or correlation_id in entry.get("correlation_ids", ())
    ]


def test_one_grep_of_either_webhooks_correlation_id_finds_its_request_the_burst_and_the_send(
    web: WebProcess, worker_process: Any, graph_api: GraphApi, json_env: dict[str, str]
) -> None:
    worker = worker_process("actors", processes=1, threads=2, env=json_env)
    first = post_webhook(web, "wamid.json1", "oi", FIRST)
    second = post_webhook(web, "wamid.json2", "quero ver carros", SECOND)
    assert (first.status_code, second.status_code) == (200, 200)
    assert (first.headers["x-correlation-id"], second.headers["x-correlation-id"]) == (FIRST, SECOND)
    wait_until(lambda: graph_api.assigned and graph_api.assigned[0] in worker.output, timeout=30, what="sent")
    wait_until(lambda: sum("POST /webhook/whatsapp" in line for line in web.lines) == 2, timeout=10)

    web_entries, worker_entries = json_lines("".join(web.lines)), json_lines(worker.output)
    for correlation_id in (FIRST, SECOND):
        web_story, worker_story = (
            with_id(web_entries, correlation_id),
            with_id(worker_entries, correlation_id),
        )
        assert any(line.startswith("webhook received: messages=1") for line in web_story), web_story
        assert any(line.startswith("POST /webhook/whatsapp 200") for line in web_story), web_story
        assert any(line.startswith("burst ") and " answered 2 message(s)" in line for line in worker_story)
        assert any(line.startswith(f"sent buttons {graph_api.assigned[0]} ") for line in worker_story)
    burst = next(entry for entry in worker_entries if entry["message"].startswith("burst "))
    assert burst["correlation_id"] == FIRST and burst["correlation_ids"] == [FIRST, SECOND]
    assert burst["message_id"] in burst["message"]  # the burst's message id is its batch id
    assert {"ts", "level", "logger", "message"} <= set(burst)


def test_no_line_of_the_web_or_the_worker_carries_the_customers_number(
    web: WebProcess, worker_process: Any, graph_api: GraphApi, json_env: dict[str, str]
) -> None:
    worker = worker_process("actors", processes=1, threads=2, env=json_env)
    # The number also arrives where a careless line could pick it up: a hostile request id.
    assert post_webhook(web, "wamid.json3", f"meu número é {CUSTOMER}", CUSTOMER).status_code == 200
    wait_until(lambda: graph_api.assigned and graph_api.assigned[0] in worker.output, timeout=30, what="sent")

    output = "".join(web.lines) + worker.output
    assert json_lines(output), "no JSON line written"
    assert CUSTOMER not in output
