"""Can the workers reply? Readiness asks the Cloud API once in a while, with the workers' token.

One GET on `{WHATSAPP_API_URL}/{WHATSAPP_PHONE_NUMBER_ID}` (or `/me` when the number is unset),
which costs Meta nothing and proves the host answers and takes the token. What fails is named:

- `whatsapp_credentials`: no `WHATSAPP_ACCESS_TOKEN`, or Graph refused it (error 190, or another
  4xx: the token cannot read the number);
- `whatsapp_api`: no answer within `CHECK_TIMEOUT_S`, a 5xx, or Graph saying it is down.

A rate limit (429, codes 4, 80007, ...) is a Graph that answers and knows the token: ready. The
answer is kept `MAX_AGE_S`, so probes do not become Graph traffic. Plain `urllib` in a thread: the
web imports no HTTP client (httpx is the workers'), and this runs at most twice a minute.
Redirects are not followed, so the token never goes to another host.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.parse
import urllib.request
from email.message import Message
from typing import IO

from starlette.concurrency import run_in_threadpool

from zapq.settings import Settings
from zapq.whatsapp.errors import AccessTokenInvalid, RetryableSendError, classify_response

CHECK_TIMEOUT_S = 2.0
MAX_AGE_S = 30.0
CREDENTIALS = "whatsapp_credentials"
API = "whatsapp_api"
OUTAGE_CODES = frozenset({2, 133004})  # Graph's "service temporarily unavailable"

_PHONE_NUMBER_ID = re.compile("[0-9]{1,32}")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(
        self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str, headers: Message, newurl: str
    ) -> None:
        return None  # the 3xx is the answer: the bearer token stays with the configured host


_opener = urllib.request.build_opener(_NoRedirects())


def probe_url(settings: Settings) -> str:
    number = settings.whatsapp_phone_number_id
    path = urllib.parse.quote(number, safe="") if _PHONE_NUMBER_ID.fullmatch(number) else "me"
    return f"{settings.graph_api_url.rstrip('/')}/{path}"


async def cloud_api_failure(settings: Settings) -> str | None:
    """The name of what keeps the workers from replying, or None when the Cloud API would take a send."""
    if not settings.whatsapp_access_token:
        return CREDENTIALS
    return await run_in_threadpool(_probe, probe_url(settings), settings.whatsapp_access_token)


def _probe(url: str, access_token: str) -> str | None:
    request = urllib.request.Request(url, headers={"authorization": f"Bearer {access_token}"})
    try:
        with _opener.open(request, timeout=CHECK_TIMEOUT_S) as answer:
            answer.read(65_536)
        return None
    except urllib.error.HTTPError as error:
        return _judge(error.code, error.read(65_536))
    except (OSError, ValueError):  # refused, timed out, unresolvable, or a URL urllib cannot use
        return API


def _judge(http_status: int, body: bytes) -> str | None:
    """Graph's error, classified as a send's would be (`zapq.whatsapp.errors`)."""
    if 300 <= http_status < 400:
        return API  # not the Graph API we were told of
    error = classify_response(http_status, body)
    if isinstance(error, AccessTokenInvalid):
        return CREDENTIALS
    if isinstance(error, RetryableSendError):  # a rate limit answers and knows the token; 5xx does not
        return API if http_status >= 500 or error.code in OUTAGE_CODES else None
    return CREDENTIALS  # another 4xx: the token cannot read this number
