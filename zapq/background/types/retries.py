"""Each task type's retry policy: its default here, changed by `TASK_RETRY_POLICIES`.

Read once, when the type registers (at import), from `declaring_settings()`: a malformed value
is reported by the process's entry point, and meanwhile the defaults hold.
"""

from __future__ import annotations

from zapq.background.handlers import RetryPolicy
from zapq.settings import declaring_settings, parse_retry_policies

#: Deliveries to other people's servers ride out a longer outage, sooner: more retries, a shorter first wait.
DEFAULTS: dict[str, RetryPolicy] = {
    "document_processing": RetryPolicy(),
    "webhook_delivery": RetryPolicy(max_retries=5, base_s=30.0),
    "analytics_processing": RetryPolicy(max_retries=3, base_s=30.0, max_s=600.0),
    "email_notification": RetryPolicy(),
    "external_sync": RetryPolicy(max_retries=5, base_s=30.0),
}


def retry_policy(task_type: str) -> RetryPolicy:
    """`task_type`'s policy: `TASK_RETRY_POLICIES`' entry over its default (the seed's: 3, x2, 60 s, 1 h)."""
    policy = DEFAULTS.get(task_type, RetryPolicy())
    try:
        overrides = parse_retry_policies(declaring_settings().task_retry_policies)
    except ValueError:
        return policy
    if task_type not in overrides:
        return policy
    retries, base_s, max_s = overrides[task_type]
    return RetryPolicy(
        max_retries=retries,
        factor=policy.factor,
        base_s=policy.base_s if base_s is None else base_s,
        max_s=policy.max_s if max_s is None else max_s,
    )
