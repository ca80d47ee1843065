"""A customer's short keyed id: stable under one secret, different under another, never the number."""

from __future__ import annotations

from zapq.customer_ids import customer_id_secret, customer_key


def test_the_same_customer_gets_the_same_short_id_and_another_secret_another_id():
    ana = customer_key("5511987654321", b"secret-a")

    assert ana == customer_key("5511987654321", b"secret-a")
    assert ana != customer_key("5511987654321", b"secret-b") != customer_key("5511987654322", b"secret-a")
    assert len(ana) == 16 and int(ana, 16) >= 0 and "987654321" not in ana


def test_without_a_configured_secret_one_is_made_once_and_kept_private(tmp_path):
    first = customer_id_secret("", tmp_path)

    assert customer_id_secret("", tmp_path) == first and len(first) == 64
    assert (tmp_path / "customer-id-secret").stat().st_mode & 0o077 == 0
    assert customer_id_secret("configured", tmp_path) == b"configured"
    assert [path.name for path in tmp_path.iterdir()] == ["customer-id-secret"]
