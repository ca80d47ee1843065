"""A worker that cannot answer for lack of configuration keeps the customer's message until it can."""

from __future__ import annotations

import time

from tests.support.graph_api import GraphApi
from tests.support.whatsapp import post_messages, text


def test_a_message_sent_while_the_token_is_missing_is_answered_once_the_token_is_set_and_the_worker_restarted(
    whatsapp, graph_api: GraphApi, worker_process, broker, redis_client, wait_until
):
    # RETRY_MAX (3) at 100 ms backoff would dead-letter it within a second; configuration waits instead.
    waiting = {"WHATSAPP_API_URL": graph_api.url, "OUTAGE_RETRY_MAX_BACKOFF_MS": "500"}
    # No Cloud API configured at all, as for `make worker` alone on a fresh machine (with a URL
    # and no token, the worker would refuse to start instead).
    no_token = {**waiting, "WHATSAPP_ACCESS_TOKEN": "", "WHATSAPP_API_URL": ""}
    unconfigured = worker_process("actors", processes=1, threads=2, env=no_token)

    post_messages(whatsapp, text("wamid.cfg1", "oi, vocês têm Corolla?"))
    wait_until(
        lambda: "configuration is unavailable" in unconfigured.output, timeout=15, what="the waiting line"
    )
    time.sleep(3.0)  # many retries' worth: none may dead-letter it
    assert redis_client.zcard(f"{broker.namespace}:default.XQ") == 0
    assert graph_api.sends() == []
    assert unconfigured.output.count("configuration is unavailable") == 1  # one line, not one per attempt
    unconfigured.stop()

    worker_process("actors", processes=1, threads=2, env=waiting)  # the token is back (the session's)

    wait_until(lambda: len(graph_api.sends()) == 1, timeout=30, what="the reply")
    assert graph_api.sends()[0]["to"]
