-- Background tasks (issue #13): each document's chunks and their embeddings, as the document_processing
-- task type stores them. One document is (organization_id, document_id); processing it again replaces
-- all its rows in one transaction (zapq/background/types/chunk_store.py), so a reader sees the old chunks
-- or the new ones, never a mix, and never two copies.
CREATE TABLE document_chunks (
    organization_id text NOT NULL,
    document_id     text NOT NULL,
    chunk_index     integer NOT NULL,
    start_offset    integer NOT NULL,  -- the chunk is content[start_offset:end_offset] of what was submitted
    end_offset      integer NOT NULL,
    text            text NOT NULL,
    content_hash    text NOT NULL,     -- hex SHA-256 of text
    embedding       real[] NOT NULL,
    embedding_model text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, document_id, chunk_index)
);
