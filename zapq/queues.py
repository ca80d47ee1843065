"""The three queues and the worker-side priority that goes with each."""

HIGH_PRIORITY = "high_priority"
DEFAULT = "default"
LOW_PRIORITY = "low_priority"

QUEUES = (HIGH_PRIORITY, DEFAULT, LOW_PRIORITY)

# Dramatiq runs lower numbers first when a worker holds messages from several queues.
PRIORITY = {HIGH_PRIORITY: 0, DEFAULT: 50, LOW_PRIORITY: 100}
