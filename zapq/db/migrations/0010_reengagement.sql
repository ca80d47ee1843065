-- What happened to the stock, written by triggers whatever changed it (`make seed`, an import,
-- the admin, psql): a car that became available ('arrived') and every change of price. The
-- re-engagement scans read it (new cars, price drops); its last id says "the stock changed".
CREATE TABLE inventory_changes (
    id         bigserial PRIMARY KEY,
    vehicle_id bigint NOT NULL REFERENCES vehicles (id) ON DELETE CASCADE,
    kind       text NOT NULL CHECK (kind IN ('arrived', 'price')),
    old_price  numeric(12, 2),
    new_price  numeric(12, 2) NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX inventory_changes_recent ON inventory_changes (kind, changed_at);
CREATE INDEX inventory_changes_vehicle ON inventory_changes (vehicle_id, changed_at);

CREATE FUNCTION record_inventory_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            IF NEW.status = 'available' THEN
                INSERT INTO inventory_changes (vehicle_id, kind, new_price) VALUES (NEW.id, 'arrived', NEW.price);
            END IF;
            RETURN NULL;
        END IF;
        IF NEW.price IS DISTINCT FROM OLD.price THEN
            INSERT INTO inventory_changes (vehicle_id, kind, old_price, new_price)
                VALUES (NEW.id, 'price', OLD.price, NEW.price);
        END IF;
        IF NEW.status = 'available' AND OLD.status <> 'available' THEN
            INSERT INTO inventory_changes (vehicle_id, kind, new_price) VALUES (NEW.id, 'arrived', NEW.price);
        END IF;
        RETURN NULL;
    END
    $$;

CREATE TRIGGER vehicles_inventory_changes
    AFTER INSERT OR UPDATE OF price, status ON vehicles
    FOR EACH ROW EXECUTE FUNCTION record_inventory_change();

-- One row per re-engagement message zapq decided to send: never two for one customer, campaign
-- and subject (the car, or for `inactive_48h` the quiet spell, named by the customer's last
-- message). `status` ends as sent, refused (Meta declined it: 131049 marketing limit, 131050
-- stopped marketing, 131047 window, ...) or failed; `sending` while the request is out.
-- `replied_at` is the customer's first message within 72 h of the send: a conversion.
CREATE TABLE reengagement_sends (
    id              bigserial PRIMARY KEY,
    phone_number_id text NOT NULL,
    wa_id           text NOT NULL,
    campaign_type   text NOT NULL CHECK (campaign_type IN ('inactive_48h', 'new_cars', 'price_drop')),
    vehicle_id      bigint REFERENCES vehicles (id) ON DELETE SET NULL,
    subject         text NOT NULL,
    message_kind    text NOT NULL CHECK (message_kind IN ('template', 'text')),
    status          text NOT NULL DEFAULT 'sending'
                    CHECK (status IN ('sending', 'sent', 'refused', 'failed')),
    outbound_key    text NOT NULL UNIQUE,
    wamid           text,
    error_code      integer,
    error_title     text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    replied_at      timestamptz,
    UNIQUE (phone_number_id, wa_id, campaign_type, subject)
);
CREATE INDEX reengagement_sends_customer ON reengagement_sends (phone_number_id, wa_id, created_at);
CREATE INDEX reengagement_sends_sent ON reengagement_sends (sent_at) WHERE sent_at IS NOT NULL;

-- Every scan that ran, and what it enqueued: operators see when the campaigns last looked, and
-- tests see that two schedulers' ticks made one scan.
CREATE TABLE reengagement_scans (
    id         bigserial PRIMARY KEY,
    trigger    text NOT NULL,
    campaigns  text[] NOT NULL,
    enqueued   integer NOT NULL,
    started_at timestamptz NOT NULL,
    finished_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reengagement_scans_started ON reengagement_scans (started_at DESC);
