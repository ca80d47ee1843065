"""Secrets a local run makes up for itself, so that `make run` works on a fresh machine.

The web app refuses to start without its webhooks' secrets; rather than teach developers to turn
authentication off, a local run without one gets a random one, kept under the data dir (mode 0600)
so that it stays the same from run to run and can be read to sign test requests.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from pathlib import Path

from zapq.settings import get_settings

logger = logging.getLogger(__name__)

GENERIC_WEBHOOK_SECRET_FILE = "dev-generic-webhook-secret"
JWT_SECRET_FILE = "dev-jwt-secret"


def ensure_webhook_secret() -> Path | None:
    """WHATSAPP_WEBHOOK_SECRET from a file under the data dir, when it is unset and signatures are on.

    The web app refuses to start without a secret (or WHATSAPP_SKIP_SIGNATURE=1), and `make run`
    or `make web` must work on a fresh machine. Returns the file when it made this choice.
    """
    settings = get_settings()
    if settings.whatsapp_webhook_secret or settings.whatsapp_skip_signature:
        return None
    return ensure_dev_secret("WHATSAPP_WEBHOOK_SECRET", settings.data_dir / "dev-webhook-secret")


def ensure_generic_webhook_secret() -> Path | None:
    """GENERIC_WEBHOOK_SECRET from a file under the data dir, when no way to authenticate is set.

    Returns the file when it made this choice (and logs where it is), None otherwise.
    """
    settings = get_settings()
    if (
        settings.generic_webhook_secret
        or settings.generic_webhook_token
        or settings.generic_webhook_allow_unsigned
    ):
        return None
    path = ensure_dev_secret("GENERIC_WEBHOOK_SECRET", settings.data_dir / GENERIC_WEBHOOK_SECRET_FILE)
    logger.warning(
        "GENERIC_WEBHOOK_SECRET was unset: POST /webhook must be signed (X-Zapq-Signature-256)"
        " with the secret in %s",
        path,
    )
    return path


def ensure_dev_secret(env_name: str, path: Path) -> Path:
    """Export `env_name` from `path`, writing a new random secret there first if there is none."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # Created 0600 rather than chmod-ed after: never readable by others, not even for a moment.
    with contextlib.suppress(FileExistsError):
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as created:
            created.write(secrets.token_hex(32))
    os.environ[env_name] = path.read_text().strip()
    get_settings.cache_clear()
    return path


def ensure_jwt_secret() -> Path | None:
    """JWT_SECRET from a file under the data dir, when neither it nor JWT_PUBLIC_KEY is set.

    The background-task API is off without one; `python -m zapq.tokens` signs local tokens
    with the same file. Returns the file when it made this choice.
    """
    settings = get_settings()
    if settings.jwt_secret or settings.jwt_public_key:
        return None
    return ensure_dev_secret("JWT_SECRET", settings.data_dir / JWT_SECRET_FILE)
