"""Hostile input over every HTTP endpoint, through a real uvicorn: never a 5xx, and nothing grows unbounded.

Hostile means NUL and other control characters, `%00`, `:` and `/` in ids, 10 KB ids, unicode and
lone surrogates (`\\udc80`, which JSON allows), made-up methods and paths, JSON nested deeper
than any decoder's stack, and bodies just under and over each route's limit, each signed with
the test secrets or not. The run is reproducible: a fixed seed (printed; `ZAPQ_FUZZ_SEED` picks
another) and a fixed number of examples (`ZAPQ_FUZZ_EXAMPLES`).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from tests.support import meta_samples as meta
from tests.support.generic_webhook import GENERIC_SECRET, signed_headers
from tests.support.web_server import WebServer
from tests.support.whatsapp import APP_SECRET
from web.auth_throttle import FailedAuthThrottle
from web.metrics import METHODS, OTHER_METHOD, UNMATCHED_ROUTE
from zapq.whatsapp.signature import sign

pytestmark = pytest.mark.processes

FUZZ_SEED = int(os.environ.get("ZAPQ_FUZZ_SEED", "20261201"))
FUZZ = settings(
    max_examples=int(os.environ.get("ZAPQ_FUZZ_EXAMPLES", "120")),
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
# After every run: request series labelled from fixed sets only, and few of them (34,126 once came
# from 2,000 made-up methods), and at most this much more Redis memory (accepted events are
# queued; nothing else may be).
MAX_REQUEST_SERIES = 150
MAX_REDIS_GROWTH_BYTES = 32 * 1024 * 1024

WHATSAPP_LIMIT = 3 * 1024 * 1024
GENERIC_LIMIT = 64 * 1024
DEFAULT_LIMIT = 16 * 1024
ADMIN_TOKEN = "test-admin-token"

HOSTILE_PIECES = [
    "\x00", "%00", "\x01", "\x1b", "\x7f", "\r\n", "\t", ":", "/", "../", "?", "#", "%", "%2F", "\\",
    '"', "'", "{", "[", "null", " ", "\u00e7\u00e3o", "\U0001f600", "\u202e", "\ufeff", "\udc80", "\ud83d",
    "x" * 10_000,
]  # fmt: skip
hostile_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(HOSTILE_PIECES),
    st.lists(st.sampled_from(HOSTILE_PIECES) | st.text(max_size=5), max_size=6).map("".join),
)
printable_ascii = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80)
# A header value that starts or ends with a space never reaches the server: httpx refuses to send it.
header_values = printable_ascii.map(str.strip)
json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | hostile_text
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(hostile_text, inner, max_size=3),
    max_leaves=10,
)
nesting_depths = st.sampled_from([1, 63, 64, 65, 965, 100_000])


def json_bytes(value: Any) -> bytes:
    # ensure_ascii: lone surrogates travel as `\udc80` escapes, as JSON allows.
    return json.dumps(value, ensure_ascii=True).encode()


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def path_segment(text: str) -> str:
    return quote(text.encode("utf-8", "surrogatepass"), safe="%:@")


@pytest.fixture
def fuzzed_server(web_server: WebServer, redis_client) -> Iterator[httpx.Client]:
    """A client of the real server, and afterwards the checks that nothing grew without bound."""
    print(f"fuzz seed: {FUZZ_SEED} (ZAPQ_FUZZ_SEED to change it)")
    # Refusing wrong admin tokens later and later is tested elsewhere; here it would only slow the run.
    web_server.app.state.admin_auth_throttle = FailedAuthThrottle(base_delay_s=0.0)
    redis_before = redis_client.info("memory")["used_memory"]
    with httpx.Client(base_url=web_server.url, timeout=30) as client:
        # The registry is the process's: series made by earlier tests of this worker are not this run's.
        series_before = {tuple(sorted(labels.items())) for labels in request_series(client)}
        yield client
        series = request_series(client)
    added = {tuple(sorted(labels.items())) for labels in series} - series_before
    assert len(added) < MAX_REQUEST_SERIES
    assert {labels["method"] for labels in series} <= METHODS | {OTHER_METHOD}
    assert {labels["route"] for labels in series} <= {route.path for route in web_server.app.routes} | {
        UNMATCHED_ROUTE
    }
    assert redis_client.info("memory")["used_memory"] - redis_before < MAX_REDIS_GROWTH_BYTES


def request_series(client: httpx.Client) -> list[dict[str, str]]:
    """The labels of every `zapq_http_requests_total` series the server's /metrics shows."""
    return [
        sample.labels
        for family in text_string_to_metric_families(client.get("/metrics").text)
        if family.name == "zapq_http_requests"
        for sample in family.samples
        if sample.name == "zapq_http_requests_total"
    ]


@pytest.fixture(autouse=True)
def no_tracebacks(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    yield
    errors = [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]
    assert not [error for error in errors if "Exception in ASGI application" in error or "Traceback" in error]


def answer(client: httpx.Client, method: str, url: str, *, limit: int, **request: Any) -> int | None:
    """The status, or None when a body over `limit` was cut off while being sent (as designed)."""
    try:
        return client.request(method, url, **request).status_code
    except httpx.TransportError:
        if len(request.get("content", b"")) > limit:
            return None
        raise


generic_events = st.fixed_dictionaries(
    {},
    optional={
        "unique_id": hostile_text | json_values,
        "message": hostile_text | json_values,
        "x": json_values,
    },
)


@st.composite
def generic_bodies(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["event", "event", "nested", "large", "raw"]))
    if kind == "event":
        return json_bytes(draw(generic_events))
    if kind == "nested":
        return f'{{"unique_id": "u1", "message": "oi", "x": {nested(draw(nesting_depths))}}}'.encode()
    if kind == "large":
        size = draw(st.sampled_from([GENERIC_LIMIT - 100, GENERIC_LIMIT + 1, 1024 * 1024]))
        return json_bytes({"unique_id": "u1", "message": "m" * size})
    return draw(st.binary(max_size=200))


@FUZZ
@seed(FUZZ_SEED)
@given(
    body=generic_bodies(),
    auth=st.sampled_from(["signed", "bearer", "none", "wrong"]),
    content_type=st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain", ""])
    | header_values,
)
def test_the_generic_webhook_never_answers_5xx(fuzzed_server, body, auth, content_type):
    headers = {
        "signed": signed_headers(body),
        "bearer": {"authorization": f"Bearer {GENERIC_SECRET}"},
        "none": {},
        "wrong": {"x-zapq-signature-256": sign("not-the-secret", body)},
    }[auth] | {"content-type": content_type}

    status = answer(fuzzed_server, "POST", "/webhook", limit=GENERIC_LIMIT, content=body, headers=headers)

    assert status is None or status < 500


@st.composite
def whatsapp_bodies(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["message", "message", "status", "nested", "large", "raw"]))
    if kind == "message":
        message = meta.user_message(
            draw(st.sampled_from(["text", "image", "interactive"]) | hostile_text),
            draw(json_values),
            wamid=draw(hostile_text),
            sender=draw(hostile_text),
            timestamp=draw(hostile_text),
        )
        change = meta.messages_change(messages=[message], phone_number_id=draw(hostile_text))
        return json_bytes(meta.notification(meta.entry(change)))
    if kind == "status":
        status = meta.status(draw(hostile_text), wamid=draw(hostile_text), recipient_id=draw(hostile_text))
        return json_bytes(meta.notification(meta.entry(meta.messages_change(statuses=[status]))))
    if kind == "nested":
        change = meta.messages_change(messages=[{"text": {"body": "__DEEP__"}}])
        return json_bytes(meta.notification(meta.entry(change))).replace(
            b'"__DEEP__"', nested(draw(nesting_depths)).encode()
        )
    if kind == "large":
        size = draw(st.sampled_from([WHATSAPP_LIMIT - 1000, WHATSAPP_LIMIT + 1]))
        return json_bytes({"object": "whatsapp_business_account", "entry": [], "pad": "p" * size})
    return draw(st.binary(max_size=200))


@FUZZ
@seed(FUZZ_SEED)
@given(
    body=whatsapp_bodies(),
    signed=st.booleans(),
    query=st.dictionaries(hostile_text, hostile_text, max_size=4),
)
def test_the_whatsapp_webhook_never_answers_5xx(fuzzed_server, body, signed, query):
    headers = {"content-type": "application/json"}
    if signed:
        headers["x-hub-signature-256"] = sign(APP_SECRET, body)

    posted = answer(
        fuzzed_server, "POST", "/webhook/whatsapp", limit=WHATSAPP_LIMIT, content=body, headers=headers
    )
    handshake = answer(
        fuzzed_server, "GET", "/webhook/whatsapp", limit=DEFAULT_LIMIT, params=_encodable(query)
    )

    assert posted is None or posted < 500
    assert handshake is not None and handshake < 500


@FUZZ
@seed(FUZZ_SEED)
@given(
    wa_id=hostile_text.filter(bool),
    phone_number_id=st.none() | hostile_text,
    token=st.sampled_from([ADMIN_TOKEN, ""]) | printable_ascii,
)
def test_the_admin_api_never_answers_5xx(fuzzed_server, wa_id, phone_number_id, token):
    url = f"/api/conversations/{path_segment(wa_id)}/release"
    params = _encodable({} if phone_number_id is None else {"phone_number_id": phone_number_id})

    status = answer(
        fuzzed_server,
        "POST",
        url,
        limit=DEFAULT_LIMIT,
        params=params,
        headers={"authorization": f"Bearer {token}".strip()},
    )

    assert status is not None and status < 500


@FUZZ
@seed(FUZZ_SEED)
@given(
    day=hostile_text,
    include_cancelled=hostile_text,
    test_drive_id=hostile_text.filter(bool) | st.integers().map(str),
    body=st.binary(max_size=64) | st.sampled_from([b'{"outcome": "done"}', b'{"outcome": null}', b"[]"]),
)
def test_the_test_drive_agenda_never_answers_5xx(fuzzed_server, day, include_cancelled, test_drive_id, body):
    headers = {"authorization": f"Bearer {ADMIN_TOKEN}"}
    params = _encodable({"day": day, "include_cancelled": include_cancelled})

    listed = answer(
        fuzzed_server, "GET", "/api/test-drives", limit=DEFAULT_LIMIT, params=params, headers=headers
    )
    url = f"/api/test-drives/{path_segment(test_drive_id)}/outcome"
    closed = answer(fuzzed_server, "POST", url, limit=DEFAULT_LIMIT, content=body, headers=headers)

    assert listed is not None and listed < 500
    assert closed is not None and closed < 500


token_characters = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
known_paths = ["/webhook", "/webhook/whatsapp", "/api/conversations/5511999990000/release",
               "/api/test-drives", "/api/test-drives/1/outcome", "/health",
               "/health/ready", "/metrics", "/"]  # fmt: skip


@FUZZ
@seed(FUZZ_SEED)
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"])
    | st.text(alphabet=token_characters, min_size=1, max_size=20),
    path=st.sampled_from(known_paths)
    | st.lists(hostile_text, min_size=1, max_size=4).map(
        lambda segments: "/" + "/".join(map(path_segment, segments))
    ),
    body=st.binary(max_size=64) | st.sampled_from([b"x" * (DEFAULT_LIMIT + 1)]),
)
def test_any_method_on_any_path_never_answers_5xx(fuzzed_server, method, path, body):
    status = answer(fuzzed_server, method, path, limit=DEFAULT_LIMIT, content=body)

    assert status is None or status < 500


def _encodable(params: dict[str, str]) -> dict[str, str]:
    """Query parameters as UTF-8 can carry them: a lone surrogate becomes U+FFFD (a URL cannot hold it)."""

    def clean(text: str) -> str:
        return text.encode("utf-8", "replace").decode()

    return {clean(name): clean(value) for name, value in params.items()}
