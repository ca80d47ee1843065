-- Events accepted by the generic POST /webhook. One row per Dramatiq message:
-- a redelivered message finds its row already there and adds nothing.
CREATE TABLE webhook_events (
    id          bigserial PRIMARY KEY,
    message_id  text NOT NULL UNIQUE,
    unique_id   text NOT NULL,
    body        text NOT NULL,
    received_at timestamptz NOT NULL,
    stored_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_events_unique_id ON webhook_events (unique_id, received_at);

-- Periodic snapshots taken by the collect_metrics schedule.
CREATE TABLE metrics_snapshots (
    id             bigserial PRIMARY KEY,
    scheduled_at   timestamptz NOT NULL UNIQUE,
    queue_depths   jsonb NOT NULL,
    webhook_events bigint NOT NULL,
    taken_at       timestamptz NOT NULL DEFAULT now()
);
