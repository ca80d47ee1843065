"""The observability kit: the alert rules pass promtool, the dashboard is well formed, and every metric
either names is one a running zapq exports (a real web and worker, after a real burst).
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from actors.metrics_snapshots import collect_metrics
from tests.support import meta_samples as meta
from tests.support.graph_api import GraphApi, graph_error
from tests.support.waiting import wait_until
from tests.support.web_server import WebServer
from tests.support.whatsapp import APP_SECRET, text
from zapq.whatsapp.signature import sign

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "zapq-alerts.yml"
RULE_TESTS = ROOT / "deploy" / "prometheus" / "zapq-alerts.test.yml"
SCRAPE_CONFIG = ROOT / "deploy" / "prometheus" / "prometheus.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "zapq-dashboard.json"
RUNBOOKS = ROOT / "docs" / "runbooks.md"

PROMQL_WORDS = frozenset(
    {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset",
     "inf", "nan"}
)  # fmt: skip


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail(
            "promtool is missing: install Debian's `prometheus` package (apt-get install prometheus);"
            " the alert rules cannot be checked without it"
        )
    return found


def alert_rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(RULES.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def dashboard_targets() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", ())]


def metric_names(expression: str) -> set[str]:
    """The metric names a PromQL expression selects: not functions, label names, keywords or durations."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expression)  # label values and strings
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # ranges: [5m], [$__rate_interval]
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\$\w+", " ", text)  # dashboard variables
    text = re.sub(r"(?<![\w:])\d[\w.]*", " ", text)  # numbers and durations: 0.99, 5m, 1e3
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        following = text[match.end() :].lstrip()
        if following.startswith("("):  # a function or an aggregation
            continue
        if match[0].lower() in PROMQL_WORDS:
            continue
        names.add(match[0])
    return names


def test_metric_names_are_found_in_promql_whatever_surrounds_them() -> None:
    expression = (
        "histogram_quantile(0.99, sum by (le, route) (rate(zapq_http_request_duration_seconds_bucket"
        '{route=~"/webhook.*", status!="rate(x)"}[$__rate_interval]))) > 4'
        " and on (instance) max(zapq_redis_memory_used_bytes) / max(zapq_redis_memory_max_bytes > 0)"
        " unless absent(up offset 5m)"
    )

    assert metric_names(expression) == {
        "zapq_http_request_duration_seconds_bucket", "zapq_redis_memory_used_bytes",
        "zapq_redis_memory_max_bytes", "up",
    }  # fmt: skip


def test_the_alert_rules_pass_promtool_check() -> None:
    result = subprocess.run([promtool(), "check", "rules", str(RULES)], capture_output=True, text=True)

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alert_rules())} rules found" in result.stdout


def test_each_alert_fires_when_it_should_in_promtools_unit_tests() -> None:
    result = subprocess.run(
        [promtool(), "test", "rules", RULE_TESTS.name], cwd=RULE_TESTS.parent, capture_output=True, text=True
    )

    assert result.returncode == 0, result.stdout + result.stderr
    tested = set(re.findall(r"alertname: (\w+)", RULE_TESTS.read_text()))
    assert tested == {rule["alert"] for rule in alert_rules()}, "an alert without a promtool test"


def test_the_example_scrape_config_passes_promtool() -> None:
    result = subprocess.run(
        [promtool(), "check", "config", str(SCRAPE_CONFIG)], capture_output=True, text=True
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_runbook_paragraph_its_url_points_at() -> None:
    headings = {
        re.sub(r"[^a-z0-9 -]", "", heading.lower()).replace(" ", "-")
        for heading in re.findall(r"^## (.+)$", RUNBOOKS.read_text(), re.MULTILINE)
    }
    for rule in alert_rules():
        path, _, anchor = rule["annotations"]["runbook_url"].partition("#")
        assert path == "docs/runbooks.md", rule["alert"]
        assert anchor == rule["alert"].lower() and anchor in headings, rule["alert"]
        assert rule["labels"]["severity"] in ("warning", "critical")


def test_the_dashboard_has_unique_panel_ids_and_every_panel_queries_the_chosen_datasource() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    variables = {variable["name"]: variable for variable in dashboard["templating"]["list"]}
    panels = dashboard["panels"]
    graphs = [panel for panel in panels if panel["type"] != "row"]

    assert (
        variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    )
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids))
    assert len(graphs) >= 8
    for panel in graphs:
        assert panel["targets"], panel["title"]
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        ref_ids = [target["refId"] for target in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids)), panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}" and metric_names(target["expr"])
    titles = " ".join(panel["title"].lower() for panel in graphs)
    for subject in ("webhook", "latency", "queue", "flow-control", "reply", "send errors", "token", "task",
                    "duckdb"):  # fmt: skip
        assert subject in titles


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def exported_names(url: str) -> set[str]:
    families = text_string_to_metric_families(httpx.get(url, timeout=5).text)
    return {sample.name for family in families for sample in family.samples}


@pytest.fixture
def web(graph_api: GraphApi, broker: Any) -> Iterator[WebServer]:
    from web.app import create_app

    server = WebServer(create_app()).start()
    yield server
    server.stop()


def test_every_metric_the_dashboard_and_the_rules_name_is_one_a_running_zapq_exports(
    web: WebServer, worker_process: Any, graph_api: GraphApi
) -> None:
    metrics_port = free_port()
    worker = worker_process("actors", processes=1, threads=2, env={"METRICS_PORT": str(metrics_port)})
    graph_api.fail_sends(graph_error(130429, http_status=429))  # one refused send: an error by code
    for number, body in enumerate(("oi", "tem HB20?")):  # one burst of two webhooks
        payload = meta.body_with_messages(text(f"wamid.kit{number}", body))
        headers = {"content-type": "application/json", "x-hub-signature-256": sign(APP_SECRET, payload)}
        assert httpx.post(f"{web.url}/webhook/whatsapp", content=payload, headers=headers).status_code == 200
    wait_until(lambda: graph_api.assigned, timeout=30, what="the reply, sent after a 429")
    worker_url = f"http://127.0.0.1:{metrics_port}/metrics"
    wait_until(
        lambda: "zapq_analytics_exported_turns_total" in exported_names(worker_url), timeout=20,
        what="the turn exported to DuckDB",
    )  # fmt: skip
    collect_metrics.send()
    wait_until(
        lambda: "zapq_analytics_export_lag_seconds" in exported_names(worker_url), timeout=20,
        what="the minute's snapshot",
    )  # fmt: skip

    exported = exported_names(f"{web.url}/metrics") | exported_names(worker_url)
    named = {name for rule in alert_rules() for name in metric_names(rule["expr"])}
    named |= {name for expression in dashboard_targets() for name in metric_names(expression)}

    assert len(named) >= 20
    assert sorted(named - exported) == []
    assert worker.process is not None and worker.process.poll() is None
