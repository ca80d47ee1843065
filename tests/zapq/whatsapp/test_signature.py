"""Webhook authentication: the X-Hub-Signature-256 HMAC on POSTs and the subscription handshake."""

from __future__ import annotations

import pytest

from tests.support.meta_samples import body_with_messages, user_message
from zapq.whatsapp.signature import (
    SignatureProblem,
    sign,
    signature_problem,
    verify_handshake,
    verify_signature,
)

APP_SECRET = "6f1c1d9a0f5e4b7c8a2d3e4f5a6b7c8d"
BODY = body_with_messages(user_message("text", {"body": "Oi, tudo bem? Quero um orçamento."}))


def test_signature_is_hmac_sha256_as_in_rfc_4231():
    # RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
    assert sign(b"Jefe", b"what do ya want for nothing?") == (
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )


def test_body_signed_with_our_app_secret_is_accepted():
    assert verify_signature(APP_SECRET, BODY, sign(APP_SECRET, BODY))


def test_secret_given_as_bytes_or_str_verifies_the_same():
    assert verify_signature(APP_SECRET.encode(), BODY, sign(APP_SECRET, BODY))
    assert verify_signature(APP_SECRET, BODY, sign(APP_SECRET.encode(), BODY))


def test_hex_digest_in_upper_case_is_still_the_same_signature():
    header = sign(APP_SECRET, BODY)
    upper = "sha256=" + header.removeprefix("sha256=").upper()

    assert verify_signature(APP_SECRET, BODY, upper)


def test_body_signed_with_another_secret_is_rejected():
    assert not verify_signature(APP_SECRET, BODY, sign("some-other-apps-secret", BODY))


@pytest.mark.parametrize("position", [0, len(BODY) // 2, len(BODY) - 1])
def test_body_changed_by_one_byte_is_rejected(position):
    header = sign(APP_SECRET, BODY)
    tampered = bytearray(BODY)
    tampered[position] ^= 0x01

    assert not verify_signature(APP_SECRET, bytes(tampered), header)


def test_body_with_a_byte_appended_is_rejected():
    assert not verify_signature(APP_SECRET, BODY + b" ", sign(APP_SECRET, BODY))


@pytest.mark.parametrize("header", [None, ""])
def test_missing_signature_is_rejected(header):
    assert not verify_signature(APP_SECRET, BODY, header)


def malformed_headers() -> list[str]:
    digest = sign(APP_SECRET, BODY).removeprefix("sha256=")
    return [
        digest,  # no prefix
        "sha1=" + digest,
        "SHA256=" + digest,
        "sha256 " + digest,
        "sha256=" + digest[:-2],  # too short
        "sha256=" + digest + "00",  # too long
        "sha256=" + digest[:-1] + "g",  # not hex
        "sha256=" + digest[:-2] + " 0",  # whitespace that bytes.fromhex would forgive
        "sha256=",
    ]


@pytest.mark.parametrize("header", malformed_headers())
def test_malformed_signature_is_rejected(header):
    assert not verify_signature(APP_SECRET, BODY, header)


def test_empty_app_secret_never_verifies_even_a_matching_signature():
    assert not verify_signature("", BODY, sign("", BODY))
    assert not verify_signature(b"", BODY, sign(b"", BODY))


def test_handshake_with_our_verify_token_echoes_the_challenge():
    assert (
        verify_handshake("subscribe", "meu-token-secreto", "1158201444", "meu-token-secreto") == "1158201444"
    )


@pytest.mark.parametrize(
    ("mode", "token", "challenge", "expected_token"),
    [
        ("subscribe", "wrong-token", "1158201444", "meu-token-secreto"),
        ("subscribe", "meu-token-secreto-", "1158201444", "meu-token-secreto"),
        ("subscribe", None, "1158201444", "meu-token-secreto"),
        ("unsubscribe", "meu-token-secreto", "1158201444", "meu-token-secreto"),
        (None, "meu-token-secreto", "1158201444", "meu-token-secreto"),
        ("subscribe", "meu-token-secreto", None, "meu-token-secreto"),
        ("subscribe", "meu-token-secreto", "", "meu-token-secreto"),
        ("subscribe", "", "1158201444", ""),
        ("subscribe", None, "1158201444", ""),
    ],
)
def test_handshake_is_refused_unless_subscribing_with_our_configured_token(
    mode, token, challenge, expected_token
):
    assert verify_handshake(mode, token, challenge, expected_token) is None


def test_handshake_tokens_with_non_ascii_characters_compare_safely():
    assert verify_handshake("subscribe", "senha-ção", "42", "senha-ção") == "42"
    assert verify_handshake("subscribe", "senha-cao", "42", "senha-ção") is None


@pytest.mark.parametrize(
    ("app_secret", "header", "problem"),
    [
        (APP_SECRET, None, SignatureProblem.MISSING),
        (APP_SECRET, "sha1=" + "0" * 40, SignatureProblem.MALFORMED),
        (APP_SECRET, "sha256=" + "0" * 63, SignatureProblem.MALFORMED),
        (APP_SECRET, sign("some-other-apps-secret", BODY), SignatureProblem.MISMATCH),
        ("", sign("", BODY), SignatureProblem.NO_SECRET),
        (APP_SECRET, sign(APP_SECRET, BODY), None),
    ],
    ids=["missing", "other-algorithm", "short", "other-secret", "no-secret", "good"],
)
def test_a_refusal_says_why_so_the_log_can_point_at_the_setting(app_secret, header, problem):
    assert signature_problem(app_secret, BODY, header) == problem
