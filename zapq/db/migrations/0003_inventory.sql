-- How customers type a make or model, reduced to what matters for matching:
-- "T-Cross", "t cross" and "TCROSS" all become "tcross"; "Citroën" becomes "citroen".
-- Mirrored in Python by zapq.conversation.reading.search_key.
CREATE FUNCTION inventory_key(value text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
        SELECT regexp_replace(
            translate(lower(value), 'áàâãäéèêëíìîïóòôõöúùûüçñ', 'aaaaaeeeeiiiiooooouuuucn'),
            '[^a-z0-9]', '', 'g'
        )
    $$;

-- The dealership's stock. `stock_code` is the dealership's own code for the car, so
-- re-running the seed (or an import) finds the car already there.
CREATE TABLE vehicles (
    id         bigserial PRIMARY KEY,
    stock_code text NOT NULL UNIQUE,
    make       text NOT NULL,
    model      text NOT NULL,
    trim_level text NOT NULL DEFAULT '',
    year       integer NOT NULL,
    price      numeric(12, 2) NOT NULL CHECK (price > 0),
    colour     text NOT NULL,
    body_type  text NOT NULL CHECK (body_type IN ('hatch', 'sedan', 'suv', 'pickup')),
    status     text NOT NULL DEFAULT 'available' CHECK (status IN ('available', 'reserved', 'sold')),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX vehicles_available_model ON vehicles (inventory_key(model)) WHERE status = 'available';

-- Booked test drives. One per customer and start time: a redelivered booking finds its row.
CREATE TABLE test_drives (
    id         bigserial PRIMARY KEY,
    wa_id      text NOT NULL,
    vehicle_id bigint REFERENCES vehicles (id) ON DELETE SET NULL,
    starts_at  timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (wa_id, starts_at)
);
CREATE INDEX test_drives_starts_at ON test_drives (starts_at);
