"""The queues and the worker-side priority that goes with each."""

HIGH_PRIORITY = "high_priority"
DEFAULT = "default"
LOW_PRIORITY = "low_priority"
#: The DuckDB exporter's triggers: consumed only where the DuckDB file lives (docs/operations.md#analytics).
ANALYTICS = "analytics"

QUEUES = (HIGH_PRIORITY, DEFAULT, LOW_PRIORITY, ANALYTICS)

# Dramatiq runs lower numbers first when a worker holds messages from several queues.
PRIORITY = {HIGH_PRIORITY: 0, DEFAULT: 50, LOW_PRIORITY: 100, ANALYTICS: 100}
