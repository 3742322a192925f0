-- An entry's embedding (question and answer) from Knowledge:EmbeddingModel, computed when a search first needs it;
-- cleared when the entry changes, and recomputed when the configured model is another.
ALTER TABLE kb_entries ADD COLUMN IF NOT EXISTS embedding real[];
ALTER TABLE kb_entries ADD COLUMN IF NOT EXISTS embedding_model text;
