"""How log lines name a customer: `c:` and 8 hex digits of a keyed hash, never the phone number.

A WhatsApp id is a phone number, and logs travel further than the database (terminals,
log shippers, bug reports). A plain hash of a phone number is no protection: there are few
enough numbers to hash them all. So the hash is an HMAC-SHA256 keyed by `LOG_CUSTOMER_KEY`,
or, unset, by a key derived from `WHATSAPP_WEBHOOK_SECRET`: every process of a deployment has
the same one, so the web's and the workers' lines about one customer carry the same hash,
across restarts. An operator who has the number and the key can compute it (`customer_tag`).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging

from zapq.settings import get_settings

logger = logging.getLogger(__name__)

TAG_PREFIX = "c:"
TAG_HEX_DIGITS = 8
# Keeps the hash apart from the webhook signatures the same secret makes.
_KEY_CONTEXT = b"zapq customer log hash v1"

_warned_unkeyed = False


def customer_tag(wa_id: str) -> str:
    """`c:3f9a2b1c` for a customer's WhatsApp id, the same in every process that shares the key."""
    settings = get_settings()
    key = _derived_key(settings.log_customer_key or settings.whatsapp_webhook_secret)
    digest = hmac.new(key, wa_id.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()
    return TAG_PREFIX + digest[:TAG_HEX_DIGITS]


@functools.lru_cache(maxsize=4)
def _derived_key(secret: str) -> bytes:
    global _warned_unkeyed
    if not secret and not _warned_unkeyed:
        _warned_unkeyed = True
        logger.warning(
            "LOG_CUSTOMER_KEY and WHATSAPP_WEBHOOK_SECRET are unset: customer hashes in the logs are"
            " unkeyed, and anyone with the logs can test a phone number against them"
        )
    return hmac.new(secret.encode(), _KEY_CONTEXT, hashlib.sha256).digest()
