"""Webhook ingest at the signed `POST /webhook/whatsapp`, and reply latency after a burst.

wrk (Debian's package) drives load on loopback against one uvicorn worker, with real
dramatiq workers draining into a Cloud API stand-in. The baseline is the same app with
the enqueue removed (`bench.ingest_app`), measured in the same run. Then, at a paced
~1,000 req/s, the latency; then bursts of 3 messages from distinct customers, timed from
each burst's last POST to its reply reaching the stand-in.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import msgspec

from bench.fake_graph import FakeGraph
from bench.support import ROOT, WorkerGroup, report
from zapq.keyspace import acks_key_pattern, flow_keys
from zapq.settings import get_settings
from zapq.whatsapp.signature import sign

SECRET = "bench-app-secret"
PHONE_NUMBER_ID = "106540352242922"
DURATION_S = int(os.environ.get("BENCH_INGEST_SECONDS", "8"))
CONNECTIONS = 32
DISTINCT_REQUESTS = 2000
CUSTOMERS = 200
PACED_CONNECTIONS = (
    16  # each waits 10 ms between requests; with wrk's timer overhead about 1,000 req/s in all
)
PACED_DELAY_MS = 10
BURSTS = int(os.environ.get("BENCH_BURSTS", "40"))


def main() -> None:
    wrk = shutil.which("wrk")
    if wrk is None:
        report("ingest", "skipped: wrk is not installed (apt-get install wrk)")
        return
    graph = FakeGraph()
    os.environ.update(
        WHATSAPP_WEBHOOK_SECRET=SECRET, WHATSAPP_ACCESS_TOKEN="bench-token", WHATSAPP_API_URL=graph.url
    )
    os.environ.setdefault("GENERIC_WEBHOOK_SECRET", "bench-generic-secret")  # the web app needs one to start
    script = Path(tempfile.mkdtemp()) / "webhooks.lua"
    script.write_text(wrk_script(signed_bodies(DISTINCT_REQUESTS)))
    try:
        with WorkerGroup("actors", processes=2, threads=8):
            seed_inventory()
            with web_server("bench.ingest_app:create_app_without_enqueue") as url:
                bare = run_wrk(wrk, url, script, CONNECTIONS)
            with web_server("web.app:create_app") as url:
                real = run_wrk(wrk, url, script, CONNECTIONS)
                wait_for_drain()  # the paced run measures a steady state, not the backlog of the last one
                paced = run_wrk(wrk, url, script, PACED_CONNECTIONS, delay_ms=PACED_DELAY_MS)
                report("ingest_bare_rps", round(bare.rps))
                report("ingest_rps", round(real.rps))
                report("ingest_p50_ms", real.p50_ms)
                report("ingest_p99_ms", real.p99_ms)
                report("ingest_ratio_to_bare", round(real.rps / bare.rps, 3))
                report("ingest_paced_rps", round(paced.rps))
                report("ingest_paced_p99_ms", paced.p99_ms)
                report("ingest_connections", CONNECTIONS)
                wait_for_drain()
                latencies = reply_latencies(url, graph)
        report("reply_after_burst_p50_s", round(statistics.median(latencies), 3))
        report("reply_after_burst_p99_s", round(percentile(latencies, 99), 3))
        report("reply_window_s", float(os.environ.get("DEBOUNCE_WINDOW_SECONDS", "2")))
    finally:
        graph.stop()


class WrkResult(msgspec.Struct):
    rps: float
    p50_ms: float
    p99_ms: float


def run_wrk(wrk: str, url: str, script: Path, connections: int, delay_ms: int = 0) -> WrkResult:
    env = {**os.environ, "BENCH_DELAY_MS": str(delay_ms)}
    output = subprocess.run(
        [wrk, "-t2", f"-c{connections}", f"-d{DURATION_S}s", "--latency", "-s", str(script), url],
        capture_output=True, text=True, check=True, env=env,
    ).stdout  # fmt: skip
    if "Non-2xx" in output:
        raise RuntimeError(f"the app refused requests under load:\n{output}")
    return WrkResult(
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
        p50_ms=_latency_ms(output, "50%"),
        p99_ms=_latency_ms(output, "99%"),
    )


def _latency_ms(output: str, label: str) -> float:
    match = re.search(rf"^\s+{re.escape(label)}\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"no {label} latency in wrk's output:\n{output}")
    value, unit = float(match.group(1)), match.group(2)
    return round(value * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit], 2)


def signed_bodies(count: int) -> list[tuple[bytes, str]]:
    now = str(int(time.time()))
    bodies = []
    for number in range(count):
        customer = f"55119{number % CUSTOMERS:08d}"
        body = msgspec.json.encode(notification(customer, f"wamid.bench.in.{number}", "tem corolla?", now))
        bodies.append((body, sign(SECRET, body)))
    return bodies


def notification(customer: str, wamid: str, text: str, timestamp: str) -> dict[str, object]:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID},
        "contacts": [{"profile": {"name": "Cliente"}, "wa_id": customer}],
        "messages": [
            {"from": customer, "id": wamid, "timestamp": timestamp, "type": "text", "text": {"body": text}}
        ],
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}],
    }


def wrk_script(bodies: list[tuple[bytes, str]]) -> str:
    """A wrk script cycling through pre-signed requests (wrk's Lua has no HMAC).

    The requests are formatted in `init`, per thread: at the top level wrk does not know the
    Host header yet, and uvicorn rejects HTTP/1.1 requests without one.
    """
    lines = ["local bodies = {}"]
    for body, signature in bodies:
        lines.append(f'bodies[#bodies + 1] = {{"{signature}", [==[{body.decode()}]==]}}')
    lines += [
        "local requests = {}",
        "local index = 0",
        "local pause = tonumber(os.getenv('BENCH_DELAY_MS') or '0')",
        "init = function(args)",
        "  for i, signed in ipairs(bodies) do",
        '    local headers = {["Content-Type"] = "application/json", ["X-Hub-Signature-256"] = signed[1]}',
        '    requests[i] = wrk.format("POST", "/webhook/whatsapp", headers, signed[2])',
        "  end",
        "end",
        "request = function() index = index % #requests + 1; return requests[index] end",
        "if pause > 0 then delay = function() return pause end end",
    ]
    return "\n".join(lines) + "\n"


@contextmanager
def web_server(factory: str) -> Iterator[str]:
    port = _free_port()
    log_path = ROOT / "var" / "bench" / f"web-{factory.split(':')[-1]}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", factory, "--host", "127.0.0.1",
             "--port", str(port), "--no-access-log", "--log-level", "warning"],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while not _answers(f"{url}/health"):
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"{factory} did not start; see {log_path}")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)


def wait_for_drain(timeout_s: float = 120.0) -> None:
    """Until the load's messages, debounce windows and replies are all done."""
    import redis

    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    namespace = get_settings().redis_namespace
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        queued = sum(
            int(client.llen(key)) for key in client.scan_iter(f"{namespace}:*") if client.type(key) == b"list"
        )
        acks = sum(int(client.scard(key)) for key in client.scan_iter(acks_key_pattern(namespace)))
        windows = int(client.zcard(flow_keys(namespace).debounce_due))
        if queued == acks == windows == 0:
            return
        time.sleep(0.5)
    raise RuntimeError("the workers did not drain the load in time")


def reply_latencies(url: str, graph: FakeGraph) -> list[float]:
    """Bursts of 3 messages 0.3 s apart from distinct new customers, started 0.2 s apart."""
    last_post: dict[str, float] = {}
    schedule = sorted(
        (start + 0.3 * part, burst, part)
        for burst in range(BURSTS)
        for part in range(3)
        for start in [0.2 * burst]
    )
    began = time.monotonic()
    with httpx.Client(base_url=url, timeout=10) as client:
        for at, burst, part in schedule:
            time.sleep(max(0.0, began + at - time.monotonic()))
            customer = f"55219{burst:08d}"
            body = msgspec.json.encode(
                notification(customer, f"wamid.burst.{burst}.{part}", "oi", str(int(time.time())))
            )
            client.post(
                "/webhook/whatsapp", content=body, headers={"X-Hub-Signature-256": sign(SECRET, body)}
            ).raise_for_status()
            last_post[customer] = time.monotonic()
    deadline = time.monotonic() + 60
    latencies: dict[str, float] = {}
    while len(latencies) < len(last_post) and time.monotonic() < deadline:
        for customer, posted in last_post.items():
            replied = graph.first_send_to(customer)
            if replied is not None:
                latencies[customer] = replied - posted
        time.sleep(0.1)
    if len(latencies) < len(last_post):
        raise RuntimeError(f"only {len(latencies)} of {len(last_post)} bursts were answered")
    return list(latencies.values())


def percentile(values: list[float], rank: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(rank / 100 * len(ordered)) - 1))]


def seed_inventory() -> None:
    from zapq.conversation.seed import seed_inventory as seed
    from zapq.db.connection import connect

    with connect() as connection:
        seed(connection)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


if __name__ == "__main__":
    main()
