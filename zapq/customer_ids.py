"""How zapq names a customer outside the conversation itself: a keyed hash, never the phone number.

A WhatsApp id is a phone number, and phone numbers are few enough to enumerate: a plain hash of
one is no disguise. So the id is HMAC-SHA256 of the wa_id under the deployment's secret:
`CUSTOMER_ID_SECRET`, or, unset, a key derived from `WHATSAPP_WEBHOOK_SECRET`, which every
process of a deployment already shares. Analytics keep 16 hex digits (`customer_key`: no
collision to fear below billions of customers); log lines show `c:` and the first 8
(`customer_tag`), so a log line and an analytics row about one customer can be matched by
prefix. Changing the secret splits every customer in two: set CUSTOMER_ID_SECRET to keep the
ids when the webhook secret is rotated.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging

from zapq.settings import Settings, get_settings

logger = logging.getLogger(__name__)

CUSTOMER_KEY_HEX_DIGITS = 16
TAG_PREFIX = "c:"
TAG_HEX_DIGITS = 8
# Keeps the key apart from the webhook signatures the same secret makes.
_KEY_CONTEXT = b"zapq customer id v1"

_warned_unkeyed = False


def customer_key(wa_id: str, secret: bytes) -> str:
    """`wa_id`'s id under `secret`: 16 lowercase hex digits."""
    digest = hmac.new(secret, wa_id.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()
    return digest[:CUSTOMER_KEY_HEX_DIGITS]


def customer_tag(wa_id: str) -> str:
    """`c:3f9a2b1c` for a customer's WhatsApp id: the first digits of its `customer_key`."""
    return TAG_PREFIX + customer_key(wa_id, deployment_secret(get_settings()))[:TAG_HEX_DIGITS]


def deployment_secret(settings: Settings) -> bytes:
    """The HMAC key every process of the deployment derives alike from its settings."""
    return _derived_key(settings.customer_id_secret or settings.whatsapp_webhook_secret)


@functools.lru_cache(maxsize=4)
def _derived_key(secret: str) -> bytes:
    global _warned_unkeyed
    if not secret and not _warned_unkeyed:
        _warned_unkeyed = True
        logger.warning(
            "CUSTOMER_ID_SECRET and WHATSAPP_WEBHOOK_SECRET are unset: customer ids in logs and analytics"
            " are unkeyed, and anyone who has them can test a phone number against them"
        )
    return hmac.new(secret.encode(), _KEY_CONTEXT, hashlib.sha256).digest()
