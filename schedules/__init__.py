"""When the periodic actors run: their periodiq schedules, one place to read and change them.

The actors themselves live in `actors/` and name their schedule here, so this package imports
nothing of zapq's and `periodiq actors:boot` finds them through the `actors` package.
"""

from periodiq import cron

#: `actors.metrics_snapshots.collect_metrics`: the minute's snapshot of queues and conversations;
#: it also triggers the DuckDB exporter, so staged turns never wait longer than a minute.
METRICS_SNAPSHOT = cron("* * * * *")
