-- One row per customer of one business number: who they are, the 24 h window, whether the
-- bot or a person answers them, whether they opted out, and the engine's state.
CREATE TABLE conversations (
    phone_number_id  text NOT NULL,
    wa_id            text NOT NULL,
    profile_name     text,
    last_inbound_at  timestamptz,
    mode             text NOT NULL DEFAULT 'bot' CHECK (mode IN ('bot', 'human')),
    opted_out        boolean NOT NULL DEFAULT false,
    opted_out_at     timestamptz,
    engine_state     jsonb,
    last_batch_id    text,   -- the last burst answered: a redelivered burst skips the engine
    last_turn        jsonb,  -- that burst's analytics record, re-sent by a redelivery
    handed_off_at    timestamptz,
    released_at      timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (phone_number_id, wa_id)
);
CREATE INDEX conversations_wa_id ON conversations (wa_id);

-- Every inbound message, stale or not, answered or not. Meta redelivers for days:
-- a redelivered wamid finds its row and adds nothing.
CREATE TABLE inbound_messages (
    phone_number_id text NOT NULL,
    wamid           text NOT NULL,
    wa_id           text NOT NULL,
    kind            text NOT NULL,
    text            text,
    sent_at         timestamptz NOT NULL,
    batch_id        text NOT NULL,
    stale           boolean NOT NULL DEFAULT false,
    payload         jsonb NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (phone_number_id, wamid)
);
CREATE INDEX inbound_messages_conversation ON inbound_messages (phone_number_id, wa_id, sent_at);

-- One row per answered burst (the analytics record of a turn), written on low_priority.
-- Keyed by the burst's batch id, so a redelivered write adds nothing.
CREATE TABLE conversation_turns (
    batch_id        text PRIMARY KEY,
    phone_number_id text NOT NULL,
    wa_id           text NOT NULL,
    inbound_wamids  text[] NOT NULL,
    inbound_text    text NOT NULL,
    reply_text      text NOT NULL,
    reply_status    text NOT NULL,
    engine          text NOT NULL,
    actions         jsonb NOT NULL,
    first_inbound_at timestamptz NOT NULL,
    replied_at      timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX conversation_turns_conversation ON conversation_turns (phone_number_id, wa_id, replied_at);

-- Conversations handed to a person, and whether the CRM was told.
CREATE TABLE handoffs (
    handoff_id      text PRIMARY KEY,
    phone_number_id text NOT NULL,
    wa_id           text NOT NULL,
    reason          text NOT NULL,
    summary         text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    notified_at     timestamptz,
    crm_status      integer
);
CREATE INDEX handoffs_conversation ON handoffs (phone_number_id, wa_id, created_at);

-- The generic webhook's events are now stored a debounced batch at a time.
ALTER TABLE webhook_events ADD COLUMN batch_id text;
