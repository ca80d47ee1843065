"""When the periodic actors run: their periodiq schedules, one place to read and change them.

The actors themselves live in `actors/` and name their schedule here, so this package imports
nothing of zapq's and `periodiq actors:boot` finds them through the `actors` package.
"""

from periodiq import cron

#: `actors.metrics_snapshots.collect_metrics`: the minute's snapshot of queues and conversations;
#: it also triggers the DuckDB exporter, so staged turns never wait longer than a minute.
METRICS_SNAPSHOT = cron("* * * * *")

#: `actors.reengagement.scan_reengagement`: every campaign's scan (a change of stock also starts one).
REENGAGEMENT_SCAN = cron("7 * * * *")
"""Hourly, at minute 7: leads gone quiet, new cars that match, price drops. Off the hour, where
other jobs of a deployment tend to pile up."""
#: `actors.embeddings.embed_new_vehicles`: the catch-up scan for cars whose text has no embedding yet.
VEHICLE_EMBEDDINGS_SCAN = cron("*/5 * * * *")

#: `actors.background.submit_scheduled_tasks`: each organisation's daily tasks that are due
#: (`POST /api/background/integrations/analytics/schedule-daily`).
BACKGROUND_SCHEDULES = cron("* * * * *")
