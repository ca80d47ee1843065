"""Retry policies: each type's default, changed per type by TASK_RETRY_POLICIES."""

from __future__ import annotations

from zapq.background.handlers import TASK_TYPES, RetryPolicy
from zapq.background.types.retries import retry_policy
from zapq.settings import parse_retry_policies


def test_every_type_has_the_seeds_policy_unless_deliveries_need_more_patience():
    assert TASK_TYPES["document_processing"].retry == RetryPolicy(3, 2.0, 60.0, 3600.0)
    assert TASK_TYPES["email_notification"].retry == RetryPolicy(3, 2.0, 60.0, 3600.0)
    assert TASK_TYPES["webhook_delivery"].retry == RetryPolicy(5, 2.0, 30.0, 3600.0)
    assert TASK_TYPES["external_sync"].retry == RetryPolicy(5, 2.0, 30.0, 3600.0)


def test_an_entry_changes_only_its_type_and_only_what_it_gives(environment):
    environment(TASK_RETRY_POLICIES="webhook_delivery=8:10:7200, email_notification=1")

    assert retry_policy("webhook_delivery") == RetryPolicy(8, 2.0, 10.0, 7200.0)
    assert retry_policy("email_notification") == RetryPolicy(1, 2.0, 60.0, 3600.0)
    assert retry_policy("document_processing") == RetryPolicy(3, 2.0, 60.0, 3600.0)


def test_policies_are_read_as_type_retries_base_and_cap():
    assert parse_retry_policies(" a=0 , b=2:5 ,c=1:1.5:30,") == {
        "a": (0, None, None), "b": (2, 5.0, None), "c": (1, 1.5, 30.0)
    }  # fmt: skip
