-- Synonyms a tenant's own use teaches. When an asker's wording becomes an entry's alias (a pick from the similar
-- questions, a senior's answer), the content words only the alias has and those only the entry's question has are
-- taken for synonyms of each other, in this tenant's knowledge base only, when there are few enough to pair (at most
-- four stems on each side, two words in English and Russian alike): "forgot my passcode" for "How do I reset my
-- password?" teaches passcode = password and forgot = reset, and a later "change a sub-account's passcode" then meets
-- "Can I change the password of a sub-account?" (Grains/Knowledge/KnowledgeSearch.cs, as the thesauri's synonyms are).
-- A trigger keeps them beside the alias whatever writes it, and they go with it.
CREATE TABLE IF NOT EXISTS kb_learned_synonyms (
    tenant_id  text NOT NULL,
    entry_id   text NOT NULL,
    normalized text NOT NULL,
    lexeme     text NOT NULL,
    synonym    text NOT NULL,
    PRIMARY KEY (tenant_id, lexeme, synonym, entry_id, normalized),
    FOREIGN KEY (tenant_id, entry_id, normalized) REFERENCES kb_aliases (tenant_id, entry_id, normalized) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS kb_learned_synonyms_alias ON kb_learned_synonyms (tenant_id, entry_id, normalized);

-- A text's content words and their stems, as the search takes a question's (Grains/Knowledge/KnowledgeSearch.cs) and
-- the trigger below an alias's and a question's: words neither the English nor the Russian stemmer drops as a stop word
-- (each keeps the other language's: "как" in English, "how" in Russian), stemmed by both.
CREATE OR REPLACE FUNCTION kb_content_words(content text) RETURNS TABLE (word text, lexeme text) LANGUAGE sql STABLE AS $$
    SELECT w.word, t.lexeme
    FROM (SELECT DISTINCT lower(token) AS word FROM ts_debug('simple', content) WHERE alias NOT IN ('blank', 'space')) w,
         unnest(tsvector_to_array(to_tsvector('english', w.word) || to_tsvector('russian', w.word))) t(lexeme)
    WHERE length(to_tsvector('english', w.word)) > 0 AND length(to_tsvector('russian', w.word)) > 0
$$;

CREATE OR REPLACE FUNCTION kb_learn_synonyms() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO kb_learned_synonyms (tenant_id, entry_id, normalized, lexeme, synonym)
    WITH alias AS (SELECT DISTINCT lexeme FROM kb_content_words(NEW.alias)),
         question AS (SELECT DISTINCT c.lexeme FROM kb_entries e, kb_content_words(e.question) c WHERE e.tenant_id = NEW.tenant_id AND e.entry_id = NEW.entry_id),
         alias_only AS (SELECT lexeme FROM alias EXCEPT SELECT lexeme FROM question),
         question_only AS (SELECT lexeme FROM question EXCEPT SELECT lexeme FROM alias)
    SELECT NEW.tenant_id, NEW.entry_id, NEW.normalized, p.lexeme, p.synonym
    FROM alias_only a, question_only q, LATERAL (VALUES (a.lexeme, q.lexeme), (q.lexeme, a.lexeme)) p(lexeme, synonym)
    WHERE (SELECT count(*) FROM alias_only) <= 4 AND (SELECT count(*) FROM question_only) <= 4
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS kb_aliases_learn ON kb_aliases;
CREATE TRIGGER kb_aliases_learn AFTER INSERT ON kb_aliases FOR EACH ROW EXECUTE FUNCTION kb_learn_synonyms();
