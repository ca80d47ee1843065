-- The operator console (web/console): who did what. Every mutating action taken from the console
-- (requeue or delete a dead letter, release a flow-control key, cancel or retry a task, hand a
-- conversation back to the bot) is one row, written by web/console/actions.py after it succeeded.
CREATE TABLE console_actions (
    id         bigserial PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    actor      text NOT NULL,         -- "admin" for the admin token, else the JWT's sub
    role       text NOT NULL,         -- admin or agent
    action     text NOT NULL,         -- e.g. dead_letter.requeue, flow.release
    target     text NOT NULL,         -- what it acted on: a message id, a queue, a key's description
    detail     jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX console_actions_at ON console_actions (at DESC);
