"""Analytics in DuckDB: answered turns, metrics snapshots and re-engagement sends, and the reports on them.

PostgreSQL keeps each record first (durable, written once per burst or tick); one exporter at a time
appends what is new to the DuckDB file (`exporter`); reports read it (`summary`, and
`python -m zapq.analytics`). docs/operations.md#analytics says why, and what it costs.
"""
