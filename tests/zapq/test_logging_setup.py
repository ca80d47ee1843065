"""One place configures every process's logging: level, one format, httpx kept quiet, floods capped.

Each case runs in a fresh Python process, set up first as the dramatiq and periodiq command lines
set theirs (`logging.basicConfig` with a format of their own), then `configure_logging`; the HTTP
request goes to a real server on 127.0.0.1.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.support.http_peer import CannedResponse, HttpPeer

ROOT = Path(__file__).resolve().parents[2]
LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) (\S+) (.*)$")

PROCESS = """
import logging, sys
import httpx
logging.basicConfig(level="INFO", format="[%(name)s] [%(levelname)s] %(message)s")  # as dramatiq's CLI does
from zapq.logging_setup import configure_logging
from zapq.settings import get_settings
configure_logging(get_settings())
httpx.get(sys.argv[1])
story = logging.getLogger("zapq.story")
for n in range(50):
    story.info("burst %d answered", n)
    story.warning("redis is down (attempt %d)", n)
"""


def run_process(url: str, log_level: str) -> list[str]:
    env = {**os.environ, "LOG_LEVEL": log_level, "LOG_REPEAT_LIMIT": "5"}
    done = subprocess.run(
        [sys.executable, "-c", PROCESS, url], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    return done.stderr.splitlines()


def test_at_info_httpx_lines_are_left_out_and_every_line_has_one_format(http_peer: HttpPeer) -> None:
    http_peer.enqueue(CannedResponse(body={}))

    lines = run_process(f"{http_peer.url}/graph", "INFO")

    assert not [line for line in lines if "HTTP Request" in line]
    assert all(LINE.match(line) for line in lines), lines
    assert len([line for line in lines if " INFO zapq.story burst " in line]) == 50


def test_at_debug_httpx_lines_are_in(http_peer: HttpPeer) -> None:
    http_peer.enqueue(CannedResponse(body={}))

    lines = run_process(f"{http_peer.url}/graph", "DEBUG")

    assert [line for line in lines if " INFO httpx HTTP Request: GET " in line]


def test_a_flood_of_one_warning_is_capped_and_counted_but_info_lines_are_not(http_peer: HttpPeer) -> None:
    http_peer.enqueue(CannedResponse(body={}))

    lines = run_process(f"{http_peer.url}/graph", "INFO")

    assert len([line for line in lines if "redis is down" in line]) == 5
    assert len([line for line in lines if "burst" in line]) == 50
