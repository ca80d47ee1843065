-- The outbound ledger: one row per message zapq means to send, keyed by the caller's
-- idempotency key, so a retried actor finds the message already sent and sends nothing.
-- Status only moves forward (pending < sent < failed < delivered < read); see
-- zapq/db/outbound_messages.py for the order and why failed sits where it does.
CREATE TABLE outbound_messages (
    id              bigserial PRIMARY KEY,
    idempotency_key text NOT NULL UNIQUE,
    phone_number_id text NOT NULL,
    recipient       text NOT NULL,
    kind            text NOT NULL,
    body            jsonb NOT NULL DEFAULT '{}',
    wamid           text UNIQUE,
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sent', 'delivered', 'read', 'failed')),
    error_code      integer,
    error_title     text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    status_at       timestamptz
);
CREATE INDEX outbound_messages_recipient ON outbound_messages (phone_number_id, recipient, created_at);
