-- The wordings askers used for an entry, learned when one picks a similar question the ask offered or a senior answers
-- an escalated question in the knowledge base's own words. Matched as the entry's question is (stemmed words and
-- trigrams), so the same wording, its word forms and its typos are answered outright next time. Gone with the entry.
CREATE TABLE IF NOT EXISTS kb_aliases (
    tenant_id  text        NOT NULL,
    entry_id   text        NOT NULL,
    alias      text        NOT NULL,
    normalized text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    search     tsvector GENERATED ALWAYS AS (
                   setweight(to_tsvector('english', alias), 'A') || setweight(to_tsvector('russian', alias), 'A')
                   || setweight(to_tsvector('simple', alias), 'A')) STORED,
    PRIMARY KEY (tenant_id, entry_id, normalized),
    FOREIGN KEY (tenant_id, entry_id) REFERENCES kb_entries (tenant_id, entry_id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS kb_aliases_search ON kb_aliases USING gin (search);
CREATE INDEX IF NOT EXISTS kb_aliases_trgm ON kb_aliases USING gin (lower(alias) gin_trgm_ops);
