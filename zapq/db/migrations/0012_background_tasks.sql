-- The background-task service (issue #13): one row per task, its log lines, and its events.
-- Status moves forward only; every UPDATE that changes it says which statuses it may leave
-- (zapq/background/store.py), so a late "running" never overwrites "completed" or "cancelled".
CREATE TABLE background_tasks (
    id                  uuid PRIMARY KEY,
    organization_id     text NOT NULL,
    user_id             text NOT NULL,
    name                text NOT NULL,
    task_type           text NOT NULL,
    priority            text NOT NULL CHECK (priority IN ('critical', 'high', 'normal', 'low')),
    payload             jsonb NOT NULL,
    status              text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'running', 'retrying', 'completed', 'failed', 'cancelled')),
    progress            double precision NOT NULL DEFAULT 0 CHECK (progress >= 0 AND progress <= 1),
    progress_message    text NOT NULL DEFAULT '',
    attempts            integer NOT NULL DEFAULT 0,
    -- Set by the first run, from the task type's retry policy (the web does not load the types' code).
    max_attempts        integer,
    result              jsonb,
    error               text,
    cancel_requested    boolean NOT NULL DEFAULT false,
    -- The last event's number: events are numbered per task, 1, 2, 3, ... (SSE ids).
    event_seq           bigint NOT NULL DEFAULT 0,
    -- A parent (a bulk submission) runs no code: its progress and status follow its children.
    parent_id           uuid REFERENCES background_tasks (id) ON DELETE CASCADE,
    idempotency_key     text,
    request_fingerprint text,
    created_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    started_at          timestamptz,
    finished_at         timestamptz,
    retry_at            timestamptz
);
CREATE UNIQUE INDEX background_tasks_idempotency
    ON background_tasks (organization_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX background_tasks_org_created ON background_tasks (organization_id, created_at DESC, id);
CREATE INDEX background_tasks_status ON background_tasks (status, priority);
CREATE INDEX background_tasks_finished ON background_tasks (finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX background_tasks_parent ON background_tasks (parent_id) WHERE parent_id IS NOT NULL;

CREATE TABLE background_task_logs (
    id         bigserial PRIMARY KEY,
    task_id    uuid NOT NULL REFERENCES background_tasks (id) ON DELETE CASCADE,
    attempt    integer NOT NULL,
    level      text NOT NULL CHECK (level IN ('debug', 'info', 'warning', 'error')),
    message    text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX background_task_logs_task ON background_task_logs (task_id, id);

-- What a task's stream (SSE) sends: numbered per task, written in the statement that bumps the
-- task's event_seq, so numbers never repeat or go back and a client resumes with Last-Event-ID.
CREATE TABLE background_task_events (
    task_id    uuid NOT NULL REFERENCES background_tasks (id) ON DELETE CASCADE,
    seq        bigint NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('status', 'progress', 'log')),
    body       jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (task_id, seq)
);

-- A task submitted every day for an organisation (analytics), by the scheduler's minute tick.
CREATE TABLE background_task_schedules (
    id              bigserial PRIMARY KEY,
    organization_id text NOT NULL,
    user_id         text NOT NULL,
    name            text NOT NULL,
    task_type       text NOT NULL,
    priority        text NOT NULL CHECK (priority IN ('critical', 'high', 'normal', 'low')),
    payload         jsonb NOT NULL,
    -- When, each day, in UTC.
    run_at          time NOT NULL,
    -- The last day a task was submitted for: one per day, whatever the number of schedulers.
    last_run_on     date,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (organization_id, name)
);
