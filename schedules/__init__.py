"""When the periodic actors run: their periodiq schedules, one place to read and change them.

The actors themselves live in `actors/` and name their schedule here, so this package imports
nothing of zapq's and `periodiq actors:boot` finds them through the `actors` package.
"""

from periodiq import cron

#: `actors.metrics_snapshots.collect_metrics`: a snapshot of queue depths and event counts.
METRICS_SNAPSHOT = cron("* * * * *")

#: `actors.embeddings.embed_new_vehicles`: the catch-up scan for cars whose text has no embedding yet.
VEHICLE_EMBEDDINGS_SCAN = cron("*/5 * * * *")
