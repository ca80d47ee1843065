"""A local run without a way to authenticate `POST /webhook` makes up a secret and keeps it."""

from __future__ import annotations

import stat

from zapq.dev_secrets import ensure_generic_webhook_secret
from zapq.settings import get_settings


def test_a_local_run_without_the_generic_secret_gets_a_random_one_under_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("ZAPQ_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GENERIC_WEBHOOK_SECRET", "")
    get_settings.cache_clear()

    path = ensure_generic_webhook_secret()

    assert path == tmp_path / "dev-generic-webhook-secret"
    secret = path.read_text()
    assert len(secret) == 64 and get_settings().generic_webhook_secret == secret
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ensure_generic_webhook_secret() is None  # now set: kept as it is


def test_the_same_secret_is_used_from_run_to_run(tmp_path, monkeypatch):
    monkeypatch.setenv("ZAPQ_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GENERIC_WEBHOOK_SECRET", "")
    get_settings.cache_clear()
    first = ensure_generic_webhook_secret().read_text()
    monkeypatch.setenv("GENERIC_WEBHOOK_SECRET", "")
    get_settings.cache_clear()

    ensure_generic_webhook_secret()

    assert get_settings().generic_webhook_secret == first


def test_a_configured_token_or_the_development_flag_needs_no_secret(tmp_path, monkeypatch):
    monkeypatch.setenv("ZAPQ_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GENERIC_WEBHOOK_SECRET", "")
    for name in ("GENERIC_WEBHOOK_TOKEN", "GENERIC_WEBHOOK_ALLOW_UNSIGNED"):
        monkeypatch.setenv(name, "1")
        get_settings.cache_clear()

        assert ensure_generic_webhook_secret() is None
        monkeypatch.delenv(name)

    assert not (tmp_path / "dev-generic-webhook-secret").exists()
