"""No phone number in a log line: a run of 10 to 15 digits that slipped into one becomes its hash.

zapq names customers in logs by `customer_tag` (`c:3f9a2b1c`), never by their number; this is the
net under that rule, for what a library, an exception or a careless line lets through: the text
and any traceback of every record a handler writes. A run counts only standing alone (not inside
a word, an id or a UUID's last group), so ids stay intact; a `+` before it goes with it.

URLs are left whole: those zapq logs are its own calls (the Graph API's `/{phone_number_id}/messages`,
whose id is a business number's, the one a failed send must name), and the access log hashes a
customer's number in a path itself (`web.access_log`).
"""

from __future__ import annotations

import logging
import re

from zapq.customer_ids import customer_tag

PHONE_NUMBER = re.compile(r"(?<![\w-])\+?(\d{10,15})(?!\w)")
URL = re.compile(r"https?://\S+")

_formatter = logging.Formatter()


def redact_numbers(text: str) -> str:
    if not any(character.isdigit() for character in text):
        return text
    parts = URL.split(text)
    urls = URL.findall(text)
    redacted = [PHONE_NUMBER.sub(lambda match: customer_tag(match[1]), part) for part in parts]
    return "".join(part + url for part, url in zip(redacted, [*urls, ""], strict=True))


class RedactPhoneNumbers(logging.Filter):
    """A handler's filter; it rewrites the record's text, so it must come after `RepeatLimit`,
    which groups records by their template."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_numbers(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = _formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_numbers(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_numbers(record.stack_info)
        return True
