-- The knowledge base: help-center articles and their embedded chunks (docs/assistant.md).
--
-- Embeddings live in an untyped `vector` column next to the name of the model that made them,
-- so a deployment can switch embedding models (and dimensions) without a schema change. Each
-- model gets its own partial HNSW index over `embedding::vector(N)` restricted to its rows
-- (pgvector's documented way to index mixed dimensions); the application creates the index
-- for any model other than the default one the first time that model is used.

CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE kb_articles (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- The stable id: file name on import, URL-safe, never reused for another article.
    slug            text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9._-]{0,127}$'),
    title           text NOT NULL CHECK (length(title) BETWEEN 1 AND 300),
    body            text NOT NULL,  -- Markdown
    source_url      text CHECK (source_url IS NULL OR length(source_url) <= 2000),
    tags            text[] NOT NULL DEFAULT '{}',
    -- sha256 of title and body: an import of identical content changes nothing.
    content_hash    text NOT NULL,
    index_status    text NOT NULL DEFAULT 'pending'
                      CHECK (index_status IN ('pending', 'indexed', 'failed')),
    index_error     text,
    -- The embedding model the chunks were made with; another model means "re-embed me".
    embedding_model text,
    indexed_at      timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX kb_articles_status ON kb_articles (index_status, embedding_model);

CREATE TABLE kb_chunks (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    article_id       uuid NOT NULL REFERENCES kb_articles (id) ON DELETE CASCADE,
    ordinal          integer NOT NULL CHECK (ordinal >= 0),
    heading_path     text[] NOT NULL DEFAULT '{}',
    text             text NOT NULL,  -- the Markdown of this piece, quoted in answers
    -- sha256 of exactly the embedded text (title, headings, plain body): unchanged hash,
    -- unchanged vector, so an edit re-embeds only the chunks it touched.
    content_hash     text NOT NULL,
    embedding_model  text NOT NULL,
    embedding        vector NOT NULL,
    embedded_at      timestamptz NOT NULL DEFAULT now(),
    -- Full-text search for a future lexical or hybrid ranking (docs/retrieval.md).
    search           tsvector GENERATED ALWAYS AS (to_tsvector('english', text)) STORED,
    -- Deferred: an update renumbers kept chunks in place.
    UNIQUE (article_id, embedding_model, ordinal) DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX kb_chunks_search ON kb_chunks USING gin (search);

-- all-MiniLM-L6-v2-int8, 384 dimensions, the default model. The name's suffix is the first
-- 12 hex digits of sha256(model name): server/store/knowledge.py derives the same name.
CREATE INDEX kb_chunks_hnsw_5a02ab285f13 ON kb_chunks
    USING hnsw ((embedding::vector(384)) vector_cosine_ops)
    WHERE embedding_model = 'all-MiniLM-L6-v2-int8';

-- Facts about the knowledge base as a whole, e.g. when the demo help center was imported.
CREATE TABLE kb_state (
    key         text PRIMARY KEY,
    value       jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
