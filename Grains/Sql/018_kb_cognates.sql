-- Ukrainian and Russian words that are one word spelled in two alphabets ("трафіку" and "трафика", "підключити" and
-- "подключить"): a text's cognate stems are its Cyrillic words with the letters Ukrainian spells differently mapped to
-- Russian ones (і to и, or to о where a Ukrainian і stands for a Russian о as in під/под; ї to и, є to е, ґ to г, ё to
-- е, apostrophes dropped; both readings kept) and stemmed as Russian, marked "≈" so that they never meet a word's own
-- stem: the search (Grains/Knowledge/KnowledgeSearch.cs) counts them as translations, below a same-language match. Both
-- languages' entries carry them, so a Russian question meets a Ukrainian entry and the other way round; and an English
-- question meets a Ukrainian entry through the English-Russian dictionary.
CREATE OR REPLACE FUNCTION kb_cognate(content text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT translate(lower(content), 'іїєґё''ʼ’', 'ииеге') || ' ' || translate(lower(content), 'іїєґё''ʼ’', 'оиеге')
$$;

CREATE OR REPLACE FUNCTION kb_cognates(content text) RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT array_to_tsvector(ARRAY(
        SELECT DISTINCT '≈' || lexeme FROM unnest(tsvector_to_array(to_tsvector('russian', kb_cognate(content)))) lexeme
        WHERE lexeme ~ '[а-я]'))
$$;

-- The search vectors again, with the cognate stems (question A, answer C as before; an alias A).
ALTER TABLE kb_entries DROP COLUMN search;
ALTER TABLE kb_entries ADD COLUMN search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english', question), 'A') || setweight(to_tsvector('russian', question), 'A')
    || setweight(to_tsvector('simple', question), 'A') || setweight(kb_cognates(question), 'A')
    || setweight(to_tsvector('english', answer), 'C') || setweight(to_tsvector('russian', answer), 'C')
    || setweight(kb_cognates(answer), 'C')) STORED;
CREATE INDEX kb_entries_search ON kb_entries USING gin (search);

ALTER TABLE kb_aliases DROP COLUMN search;
ALTER TABLE kb_aliases ADD COLUMN search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english', alias), 'A') || setweight(to_tsvector('russian', alias), 'A')
    || setweight(to_tsvector('simple', alias), 'A') || setweight(kb_cognates(alias), 'A')) STORED;
CREATE INDEX kb_aliases_search ON kb_aliases USING gin (search);
