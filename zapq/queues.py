"""The queues and the worker-side priority that goes with each."""

HIGH_PRIORITY = "high_priority"
DEFAULT = "default"
LOW_PRIORITY = "low_priority"
#: The DuckDB exporter's triggers: consumed only where the DuckDB file lives (docs/operations.md#analytics).
ANALYTICS = "analytics"

#: The background-task service's queues, one per task priority (zapq/background).
TASKS_CRITICAL = "tasks_critical"
TASKS_HIGH = "tasks_high"
TASKS_NORMAL = "tasks_normal"
TASKS_LOW = "tasks_low"
TASK_QUEUES = {"critical": TASKS_CRITICAL, "high": TASKS_HIGH, "normal": TASKS_NORMAL, "low": TASKS_LOW}

QUEUES = (
    HIGH_PRIORITY,
    DEFAULT,
    LOW_PRIORITY,
    ANALYTICS,
    TASKS_CRITICAL,
    TASKS_HIGH,
    TASKS_NORMAL,
    TASKS_LOW,
)

#: Consumed only by the reserved priority worker (`make run`'s `worker-priority`, zapq-worker-priority
#: in deploy/): a worker whose threads are all busy with low tasks never holds critical work, because
#: it never fetches it (docs/operations.md#background-task-priorities).
RESERVED_QUEUES = (TASKS_CRITICAL, TASKS_HIGH)
#: What the general workers consume: everything else.
GENERAL_QUEUES = tuple(queue for queue in QUEUES if queue not in RESERVED_QUEUES)

# Dramatiq runs lower numbers first when a worker holds messages from several queues.
PRIORITY = {
    HIGH_PRIORITY: 0, DEFAULT: 50, LOW_PRIORITY: 100, ANALYTICS: 100,
    TASKS_CRITICAL: 0, TASKS_HIGH: 10, TASKS_NORMAL: 50, TASKS_LOW: 100,
}  # fmt: skip
