"""A customer's short, keyed id: what analytics (and logs) say instead of a phone number.

A WhatsApp id is a phone number, and phone numbers are few enough to enumerate: a plain hash
of one is no disguise. The id is HMAC-SHA256 of the wa_id under a secret
(`CUSTOMER_ID_SECRET`), cut to 16 hex digits (64 bits: no collision to fear below billions
of customers). The same customer gets the same id in every report, and without the secret
nobody can turn an id back into a number.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

CUSTOMER_KEY_HEX_DIGITS = 16
#: Where a deployment without CUSTOMER_ID_SECRET keeps the one it made up (under the data dir).
SECRET_FILE = "customer-id-secret"


def customer_key(wa_id: str, secret: bytes) -> str:
    """`wa_id`'s id under `secret`: 16 lowercase hex digits."""
    digest = hmac.new(secret, wa_id.encode(), hashlib.sha256).hexdigest()
    return digest[:CUSTOMER_KEY_HEX_DIGITS]


def customer_id_secret(configured: str, data_dir: Path) -> bytes:
    """The configured secret, or one made up once and kept in `data_dir` (mode 0600).

    Only the DuckDB exporter hashes, on the one host that holds the file, so a secret kept
    beside the file keeps ids stable from run to run there; set CUSTOMER_ID_SECRET to share it.
    """
    if configured:
        return configured.encode()
    path = data_dir / SECRET_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        # Written whole under a temporary name (0600 from the start), then linked into place:
        # a process racing this one sees no file or a complete one, never an empty one.
        draft = data_dir / f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as created:
            created.write(secrets.token_hex(32))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another process made it first: theirs is the one
        finally:
            draft.unlink()
    return path.read_text().strip().encode()
