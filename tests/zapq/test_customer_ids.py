"""A customer is named by a keyed hash: the same in every process and restart, never the number."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from zapq import customer_ids
from zapq.customer_ids import customer_key, customer_tag
from zapq.settings import get_settings

ROOT = Path(__file__).resolve().parents[2]
ANA = "5511988887777"
BRUNO = "5521999990000"


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WHATSAPP_WEBHOOK_SECRET", "app-secret")
    monkeypatch.delenv("CUSTOMER_ID_SECRET", raising=False)
    get_settings.cache_clear()


def test_a_customer_is_c_and_8_hex_digits_and_the_number_is_not_in_it(key: None) -> None:
    tag = customer_tag(ANA)

    assert re.fullmatch("c:[0-9a-f]{8}", tag)
    assert customer_tag(ANA) == tag
    assert customer_tag(BRUNO) != tag


def test_another_process_gives_the_same_customer_the_same_hash(key: None) -> None:
    other = subprocess.run(
        [sys.executable, "-c", f"from zapq.customer_ids import customer_tag; print(customer_tag({ANA!r}))"],
        cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, check=True,
    )  # fmt: skip

    assert other.stdout.strip() == customer_tag(ANA)


def test_the_hash_is_keyed_so_a_list_of_numbers_cannot_be_matched_without_the_key(
    key: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    by_webhook_secret = customer_tag(ANA)
    monkeypatch.setenv("WHATSAPP_WEBHOOK_SECRET", "another-app-secret")
    get_settings.cache_clear()
    by_another_secret = customer_tag(ANA)
    monkeypatch.setenv("CUSTOMER_ID_SECRET", "a-key-of-its-own")
    get_settings.cache_clear()

    assert len({by_webhook_secret, by_another_secret, customer_tag(ANA)}) == 3


def test_customer_id_secret_keeps_the_hashes_when_the_webhook_secret_is_rotated(
    key: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUSTOMER_ID_SECRET", "a-key-of-its-own")
    get_settings.cache_clear()
    before = customer_tag(ANA)
    monkeypatch.setenv("WHATSAPP_WEBHOOK_SECRET", "rotated-app-secret")
    get_settings.cache_clear()

    assert customer_tag(ANA) == before


def test_without_any_key_it_warns_once_that_the_hashes_are_unkeyed(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("WHATSAPP_WEBHOOK_SECRET", raising=False)
    monkeypatch.delenv("CUSTOMER_ID_SECRET", raising=False)
    monkeypatch.setattr(customer_ids, "_warned_unkeyed", False)
    customer_ids._derived_key.cache_clear()
    get_settings.cache_clear()

    with caplog.at_level(logging.WARNING, logger="zapq.customer_ids"):
        customer_tag(ANA)
        customer_tag(BRUNO)

    # Only this module's lines: a repeat-limit summary from an earlier test may flush meanwhile.
    (warning,) = [record for record in caplog.records if record.name == "zapq.customer_ids"]
    assert "CUSTOMER_ID_SECRET and WHATSAPP_WEBHOOK_SECRET are unset" in warning.getMessage()
    assert "unkeyed" in warning.getMessage()


def test_the_log_tag_is_the_start_of_the_id_analytics_keep(key: None) -> None:
    analytics_id = customer_key(ANA, customer_ids.deployment_secret(get_settings()))

    assert re.fullmatch("[0-9a-f]{16}", analytics_id)
    assert customer_tag(ANA) == "c:" + analytics_id[:8]
    assert (
        customer_key(ANA, b"secret-a") != customer_key(ANA, b"secret-b") != customer_key(BRUNO, b"secret-a")
    )
