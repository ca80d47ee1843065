-- Items that failed on their own (a value PostgreSQL refuses, a payload that no longer parses),
-- set aside so that the rest of their batch goes on. One row per item, however often its
-- batch was redelivered; `item` and `item_id` are ASCII-escaped JSON, so any value fits.
CREATE TABLE poison_items (
    id          bigserial PRIMARY KEY,
    actor_name  text NOT NULL,
    item_id     text NOT NULL,
    batch_id    text,
    error       text NOT NULL,
    item        text NOT NULL,
    seen        integer NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (actor_name, item_id)
);
CREATE INDEX poison_items_created ON poison_items (created_at DESC);
