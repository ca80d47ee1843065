-- Analytics (issue #12). conversation_turns is the durable staging area of the DuckDB file:
-- every answered burst lands here once (keyed by batch id), then the one exporter that holds
-- the analytics lock numbers it (export_seq, in the order it takes them) and appends it to
-- DuckDB above the high-water mark that the DuckDB file itself keeps (zapq/analytics/exporter.py).
ALTER TABLE conversation_turns
    ADD COLUMN intent        text NOT NULL DEFAULT '',
    ADD COLUMN inbound_kinds text[] NOT NULL DEFAULT '{}',
    ADD COLUMN vehicle_ids   bigint[] NOT NULL DEFAULT '{}',
    ADD COLUMN export_seq    bigint UNIQUE;
CREATE SEQUENCE conversation_turns_export_seq;
CREATE INDEX conversation_turns_unexported ON conversation_turns (recorded_at) WHERE export_seq IS NULL;

-- What collect_metrics now records each minute, beside the queue depths it already kept.
ALTER TABLE metrics_snapshots
    ADD COLUMN delayed_depths          jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN dead_letter_depths      jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN in_flight               integer NOT NULL DEFAULT 0,
    ADD COLUMN active_conversations_1h integer NOT NULL DEFAULT 0,
    ADD COLUMN bursts_answered_1m      integer NOT NULL DEFAULT 0,
    ADD COLUMN reply_latency_median_5m_ms double precision,
    ADD COLUMN reengagement_sent_1m    integer NOT NULL DEFAULT 0;
-- collect_metrics counts the last minutes' turns every minute.
CREATE INDEX conversation_turns_replied_at ON conversation_turns (replied_at);

-- Where the DuckDB file lives (host and path), claimed by the first export: a worker on another node
-- that also consumes the `analytics` queue must not start a second, partial file. Moving the file to
-- another node: delete this row.
CREATE TABLE analytics_exporter (
    only_one   boolean PRIMARY KEY DEFAULT true CHECK (only_one),
    host       text NOT NULL,
    path       text NOT NULL,
    claimed_at timestamptz NOT NULL DEFAULT now()
);
