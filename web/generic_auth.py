"""Who may post events to `POST /webhook`: a signature over the raw body, or a bearer token.

The signature is the one zapq puts on its own webhooks (zapq/conversation/crm.py):
`X-Zapq-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`, keyed by GENERIC_WEBHOOK_SECRET.
A sender that cannot sign may send `Authorization: Bearer $GENERIC_WEBHOOK_TOKEN` instead. With
neither configured the web app refuses to start, unless GENERIC_WEBHOOK_ALLOW_UNSIGNED=1
(development only); once either is configured, that flag no longer opens anything.
"""

from __future__ import annotations

from starlette.datastructures import Headers

from web.bearer import AUTHORIZATION_HEADER, bearer_token_matches
from zapq.settings import Settings
from zapq.whatsapp.signature import ZAPQ_SIGNATURE_HEADER as SIGNATURE_HEADER
from zapq.whatsapp.signature import verify_signature

__all__ = ["SIGNATURE_HEADER", "authenticated"]


def authenticated(settings: Settings, raw_body: bytes, headers: Headers) -> bool:
    secret, token = settings.generic_webhook_secret, settings.generic_webhook_token
    if not secret and not token:
        return settings.generic_webhook_allow_unsigned
    return verify_signature(secret, raw_body, headers.get(SIGNATURE_HEADER)) or bearer_token_matches(
        headers.get(AUTHORIZATION_HEADER), token
    )
