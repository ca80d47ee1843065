-- When a send's request left for Meta. Set (and committed) before the request, cleared when
-- Meta answered with an error; still set on a pending row means the outcome is unknown: the
-- worker died, or no answer came. zapq/whatsapp/sender.py decides what such a row means.
ALTER TABLE outbound_messages ADD COLUMN attempted_at timestamptz;

-- Status webhooks for wamids not (yet) in the ledger: one that beat its send's commit, or the
-- "sent" of a message whose worker died before recording it, which lets a retry adopt that
-- wamid instead of sending the message a second time.
CREATE TABLE unmatched_statuses (
    wamid           text PRIMARY KEY,
    phone_number_id text NOT NULL,
    recipient_id    text,
    status          text NOT NULL,
    at              timestamptz NOT NULL,
    error_code      integer,
    error_title     text,
    received_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX unmatched_statuses_recipient ON unmatched_statuses (phone_number_id, recipient_id, at);
