"""Customers writing on WhatsApp, as Meta delivers them: signed webhooks, retried until answered 200.

Each customer (a distinct wa_id) sends a burst of short texts within a fraction of a second;
customers start evenly over `spread_s`. Every POST that fails (connection refused or reset,
timeout, any status but 200) is retried with backoff, as Meta does for days, until it gets 200
or the load is stopped. A bounded pool of threads carries the customers.
"""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx

from tests.support import meta_samples as meta
from zapq.whatsapp.signature import SIGNATURE_HEADER, sign

BURST_TEXTS = ("oi, boa tarde", "vocês têm Onix?", "qual o preço?")
RETRY_FIRST_S = 0.25
RETRY_MAX_S = 4.0
POST_TIMEOUT_S = 5.0


@dataclass
class Customer:
    wa_id: str
    wamids: list[str]
    accepted_at: list[float | None]  # time.monotonic() of each message's 200, None until then
    posts: int = 0  # attempts, retries included

    @property
    def accepted(self) -> bool:
        return all(at is not None for at in self.accepted_at)


@dataclass
class WebhookLoad:
    """`customers` customers, each sending `texts` as a burst to `webhook_url`, signed with `app_secret`."""

    webhook_url: str
    app_secret: str
    customers: int = 200
    texts: tuple[str, ...] = BURST_TEXTS
    spread_s: float = 10.0
    concurrency: int = 48
    first_wa_id: int = 5511900000000
    # More web nodes behind a load balancer: each POST, retries included, goes to the next of them.
    more_webhook_urls: tuple[str, ...] = ()
    started_at: float = 0.0
    people: list[Customer] = field(default_factory=list)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _runner: threading.Thread | None = None

    def start(self) -> WebhookLoad:
        self.people = [
            Customer(
                wa_id=str(self.first_wa_id + number),
                wamids=[
                    f"wamid.load.{self.first_wa_id + number}.{index}" for index in range(len(self.texts))
                ],
                accepted_at=[None] * len(self.texts),
            )
            for number in range(self.customers)
        ]
        self.started_at = time.monotonic()
        self._runner = threading.Thread(target=self._run, name="webhook-load", daemon=True)
        self._runner.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Give up the retries still going (Meta would go on) and wait for the threads."""
        self._stopping.set()
        if self._runner is not None:
            self._runner.join(timeout)

    @property
    def finished(self) -> bool:
        return all(customer.accepted for customer in self.people)

    def accepted(self) -> list[Customer]:
        return [customer for customer in self.people if customer.accepted]

    def _run(self) -> None:
        limits = httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency)
        with (
            httpx.Client(timeout=POST_TIMEOUT_S, limits=limits) as client,
            ThreadPoolExecutor(self.concurrency, thread_name_prefix="customer") as pool,
        ):
            for number, customer in enumerate(self.people):
                start_at = self.started_at + self.spread_s * number / max(self.customers, 1)
                if self._stopping.wait(max(0.0, start_at - time.monotonic())):
                    break
                pool.submit(self._write, client, customer)

    def _write(self, client: httpx.Client, customer: Customer) -> None:
        sent_at = str(int(time.time()))
        contacts = [meta.contact(customer.wa_id, f"Cliente {customer.wa_id[-4:]}")]
        for index, (wamid, text) in enumerate(zip(customer.wamids, self.texts, strict=True)):
            message = meta.user_message(
                "text", {"body": text}, wamid=wamid, sender=customer.wa_id, timestamp=sent_at
            )
            body = meta.body_with_messages(message, contacts=contacts)
            if not self._post_until_taken(client, customer, body):
                return
            customer.accepted_at[index] = time.monotonic()

    def _post_until_taken(self, client: httpx.Client, customer: Customer, body: bytes) -> bool:
        headers = {"content-type": "application/json", SIGNATURE_HEADER: sign(self.app_secret, body)}
        backoff_s = RETRY_FIRST_S
        urls = (self.webhook_url, *self.more_webhook_urls)
        while not self._stopping.is_set():
            url = urls[customer.posts % len(urls)]
            customer.posts += 1
            try:
                if client.post(url, content=body, headers=headers).status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            self._stopping.wait(backoff_s * random.uniform(0.8, 1.2))
            backoff_s = min(backoff_s * 2, RETRY_MAX_S)
        return False
