-- Embedding vectors for semantic search (zapq/embeddings). One row per distinct text and model:
-- the same text, whoever sent it and however often, is embedded once (`content_hash` is the
-- SHA-256 of its parts). A vehicle finds its row through the hash of its current text, so a
-- changed description simply has no row yet, and the catch-up scan embeds it.
-- `vector` is little-endian float32, `dims` long: search loads it into numpy in-process.
CREATE TABLE embeddings (
    id           bigserial PRIMARY KEY,
    model        text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('message', 'vehicle', 'document_chunk')),
    content_hash bytea NOT NULL CHECK (length(content_hash) = 32),
    text         text NOT NULL,
    dims         smallint NOT NULL CHECK (dims > 0),
    vector       bytea NOT NULL CHECK (length(vector) = 4 * dims),
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (model, kind, content_hash)
);
-- Search reads new message vectors incrementally, by id.
CREATE INDEX embeddings_model_kind_id ON embeddings (model, kind, id);
