"""GET/POST /webhook/whatsapp at the edge: handshake, signatures, decoding, and what gets queued."""

from __future__ import annotations

import pytest

from tests.support import meta_samples as meta
from tests.support.whatsapp import APP_SECRET, post_signed, text
from web.app import create_app
from web.enqueue import AsyncEnqueuer
from zapq.customer_ids import customer_tag
from zapq.embedded.redis_server import ensure_redis
from zapq.settings import SettingsError, get_settings
from zapq.whatsapp.signature import sign

VERIFY = {"hub.mode": "subscribe", "hub.verify_token": "test-verify-token", "hub.challenge": "1158201444"}


def queued(redis_client, broker) -> int:
    """Messages Redis holds for the workers: on the queue, or merged into their debounce window at send."""
    from middleware.flow_control import find_flow_control

    on_queue = redis_client.llen(f"{broker.namespace}:default")
    items_prefix = find_flow_control(broker).keys.debounce_items_prefix
    merged = sum(
        sum(1 for entry in redis_client.lrange(key, 0, -1) if b"\n" in entry)
        for key in redis_client.scan_iter(f"{items_prefix}*")
    )
    return on_queue + merged


def test_handshake_echoes_the_challenge_for_our_verify_token(web_client):
    response = web_client.get("/webhook/whatsapp", params=VERIFY)

    assert response.status_code == 200
    assert response.text == "1158201444"


@pytest.mark.parametrize(
    "params", [{**VERIFY, "hub.verify_token": "guess"}, {**VERIFY, "hub.mode": "unsubscribe"}, {}]
)
def test_handshake_with_a_wrong_token_or_mode_is_forbidden(web_client, params):
    response = web_client.get("/webhook/whatsapp", params=params)

    assert response.status_code == 403
    assert response.json()["error"] == "verification_failed"


def test_a_signed_message_is_queued_and_answered_200(web_client, redis_client, broker):
    response = post_signed(web_client, meta.body_with_messages(text("wamid.A", "oi")))

    assert response.status_code == 200
    assert response.json()["messages"] == 1
    assert queued(redis_client, broker) == 1


@pytest.mark.parametrize(
    "signature",
    [
        None,  # missing
        "sha256=",  # empty
        "sha1=" + "0" * 40,  # other algorithm
        "sha256=" + "z" * 64,  # not hex
        "sha256=" + "0" * 64,  # wrong
        sign("last-years-app-secret", meta.body_with_messages(text("wamid.A", "oi"))),  # stale secret
    ],
    ids=["missing", "empty", "sha1", "not-hex", "wrong", "stale-secret"],  # the same in every xdist worker
)
def test_bad_missing_or_stale_signatures_get_401_and_queue_nothing(
    web_client, redis_client, broker, signature
):
    body = meta.body_with_messages(text("wamid.A", "oi"))
    headers = {"content-type": "application/json"}
    if signature is not None:
        headers["x-hub-signature-256"] = signature

    response = web_client.post("/webhook/whatsapp", content=body, headers=headers)

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_signature"
    assert queued(redis_client, broker) == 0


def test_the_signature_covers_the_raw_bytes_not_the_json(web_client, redis_client, broker):
    body = meta.body_with_messages(text("wamid.A", "oi"))
    reformatted = body.replace(b'":', b'": ')  # same JSON, other bytes

    response = web_client.post(
        "/webhook/whatsapp", content=reformatted, headers={"x-hub-signature-256": sign(APP_SECRET, body)}
    )

    assert response.status_code == 401
    assert queued(redis_client, broker) == 0


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{not json", 400),
        (b"[]", 400),
        (b'{"object": "page", "entry": []}', 400),
        (b'{"object": "whatsapp_business_account", "entry": []}', 200),
        (b'{"object": "whatsapp_business_account", "entry": [{"changes": "nope"}]}', 200),
        (meta.body_with_messages(meta.user_message("hologram", {"x": 1}, wamid="wamid.U")), 200),
        (meta.body_with_messages({"from": 5, "id": None, "type": "text"}), 200),
        (meta.body_with_changes({"field": "account_update", "value": {"anything": True}}), 200),
    ],
)
def test_malformed_or_unknown_payloads_never_get_a_500(web_client, body, status):
    response = post_signed(web_client, body)

    assert response.status_code == status
    if status != 200:
        assert response.json()["error"] == "invalid_payload"


def test_unknown_message_types_are_queued_as_unsupported(web_client, redis_client, broker):
    body = meta.body_with_messages(meta.user_message("hologram", {"x": 1}, wamid="wamid.U"))

    response = post_signed(web_client, body)

    assert response.json()["messages"] == 1
    assert queued(redis_client, broker) == 1


def test_every_message_and_status_of_a_post_is_queued(web_client, redis_client, broker):
    change = meta.messages_change(
        messages=[text("wamid.1", "oi"), text("wamid.2", "olá", sender="5521999990000")],
        contacts=[meta.contact(), meta.contact("5521999990000", "Bruno")],
    )
    statuses = meta.messages_change(statuses=[meta.status("delivered"), meta.status("read")])
    body = meta.encode(meta.notification(meta.entry(change), meta.entry(statuses)))

    response = post_signed(web_client, body)

    assert response.status_code == 200
    assert response.json()["messages"] == 2 and response.json()["statuses"] == 2
    assert queued(redis_client, broker) == 4


def test_unreachable_redis_answers_503_so_meta_retries(web_client, broker, tmp_path):
    doomed = ensure_redis(tmp_path / "doomed-redis")
    web_client.app.state.enqueuer = AsyncEnqueuer(broker, doomed.url)
    doomed.stop()

    response = post_signed(web_client, meta.body_with_messages(text("wamid.A", "oi"), text("wamid.B", "oi")))

    assert response.status_code == 503
    # It names the dependency, not its address: that is in the log.
    assert response.json() == {
        "error": "broker_unavailable",
        "detail": "the queue is unavailable, retry later",
    }


def test_the_app_refuses_to_start_without_the_webhook_secret(monkeypatch):
    monkeypatch.setenv("WHATSAPP_WEBHOOK_SECRET", "")
    get_settings.cache_clear()

    with pytest.raises(SettingsError, match="WHATSAPP_WEBHOOK_SECRET"):
        create_app()


def test_skip_signature_lets_development_run_unsigned(monkeypatch, broker, redis_client, caplog):
    from starlette.testclient import TestClient

    monkeypatch.setenv("WHATSAPP_WEBHOOK_SECRET", "")
    monkeypatch.setenv("WHATSAPP_SKIP_SIGNATURE", "1")
    get_settings.cache_clear()

    with TestClient(create_app()) as client:
        response = client.post("/webhook/whatsapp", content=meta.body_with_messages(text("wamid.A", "oi")))

    assert response.status_code == 200
    assert "WHATSAPP_SKIP_SIGNATURE=1" in caplog.text


def test_a_redis_that_lost_its_scripts_still_takes_the_notification(web_client, redis_client, broker):
    redis_client.script_flush()  # as after a Redis restart

    response = post_signed(web_client, meta.body_with_messages(text("wamid.A", "oi"), text("wamid.B", "oi")))

    assert response.status_code == 200
    assert queued(redis_client, broker) == 2


def test_a_signed_body_nested_deeper_than_the_limit_gets_400_naming_the_limit(
    web_client, redis_client, broker
):
    deep = b"[" * 965 + b"]" * 965
    body = meta.body_with_changes({"field": "messages", "value": {"deep": "PLACEHOLDER"}})
    body = body.replace(b'"PLACEHOLDER"', deep)

    response = post_signed(web_client, body)

    assert response.status_code == 400
    assert response.json() == {"error": "json_too_deep", "detail": "JSON may nest at most 64 levels deep"}
    assert queued(redis_client, broker) == 0


def test_an_unsigned_deep_body_is_refused_for_its_signature_first(web_client):
    response = web_client.post("/webhook/whatsapp", content=b"[" * 100_000)

    assert response.status_code == 401


@pytest.mark.parametrize(
    ("signature", "reason"),
    [
        (None, "no X-Hub-Signature-256 header"),
        ("sha256=" + "z" * 64, "X-Hub-Signature-256 is not sha256=<64 hex digits>"),
        (
            sign("last-years-app-secret", meta.body_with_messages(text("wamid.A", "oi"))),
            "X-Hub-Signature-256 does not match the body: check that WHATSAPP_WEBHOOK_SECRET is the"
            " Meta app's secret",
        ),
    ],
    ids=["missing", "malformed", "mismatch"],
)
def test_a_refused_signature_is_a_warning_naming_the_reason_and_the_client(
    web_client, caplog, signature, reason
):
    headers = {"content-type": "application/json"}
    if signature is not None:
        headers["x-hub-signature-256"] = signature

    web_client.post(
        "/webhook/whatsapp", content=meta.body_with_messages(text("wamid.A", "oi")), headers=headers
    )

    (line,) = [r for r in caplog.records if r.name == "web.whatsapp_webhook"]
    assert line.levelname == "WARNING"
    assert line.getMessage().startswith(f"webhook rejected from testclient: {reason}")


def test_a_received_webhook_is_one_line_of_counts_by_kind_and_customer_hashes_never_numbers(
    web_client, caplog
):
    bruno = "5521999990000"
    image = meta.user_message("image", {"id": "1", "mime_type": "image/jpeg"}, wamid="wamid.I")
    body = meta.body_with_messages(text("wamid.A", "oi"), text("wamid.B", "oi", sender=bruno), image)
    post_signed(web_client, body)
    post_signed(web_client, meta.body_with_statuses(meta.status("delivered"), meta.status("read")))

    lines = [r.getMessage() for r in caplog.records if r.name == "web.whatsapp_webhook"]
    ana, bruno_tag = customer_tag(meta.USER_WA_ID), customer_tag(bruno)
    assert lines == [
        f"webhook received: messages=3 (image=1, text=2) statuses=0 customers={ana},{bruno_tag}",
        "webhook received: messages=0 statuses=2 (delivered=1, read=1) customers=-",
    ]
    assert not [r for r in caplog.records if meta.USER_WA_ID in r.getMessage() or bruno in r.getMessage()]


def test_a_message_meta_delivers_again_is_logged_as_a_skipped_duplicate(web_client, broker, caplog):
    body = meta.body_with_messages(text("wamid.again", "oi"))
    post_signed(web_client, body)
    post_signed(web_client, body)

    skipped = [r.getMessage() for r in caplog.records if r.getMessage().startswith("skipped")]
    assert skipped == [
        f"skipped wamid.again customer={customer_tag(meta.USER_WA_ID)}: duplicate, received before"
    ]
