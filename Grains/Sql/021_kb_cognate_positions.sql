-- Cognate stems (Sql/018) with a position, so that the weight their search vector gives them holds: without one a
-- tsvector keeps no weight, and a cognate in an entry's question counted as one in its answer (half). And a Ukrainian
-- infinitive's -ти (-тися) read as the Russian -ть (-ться), which the Russian stemmer strips as a verb ending:
-- "підключити" meets "подключить" (both "≈подключ") where "подключити" kept "≈подключит".
CREATE OR REPLACE FUNCTION kb_cognate(content text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT regexp_replace(translate(lower(content), 'іїєґё''ʼ’', 'ииеге') || ' ' || translate(lower(content), 'іїєґё''ʼ’', 'оиеге'),
                          'ти(ся)?\M', 'ть\1', 'g')
$$;

CREATE OR REPLACE FUNCTION kb_cognates(content text) RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(string_agg(DISTINCT '''≈' || replace(replace(lexeme, '\', '\\'), '''', '''''') || ''':1', ' ')::tsvector, ''::tsvector)
    FROM unnest(tsvector_to_array(to_tsvector('russian', kb_cognate(content)))) lexeme
    WHERE lexeme ~ '[а-я]'
$$;

-- The stored search vectors again (generated columns keep what the old functions gave).
UPDATE kb_entries SET question = question;
UPDATE kb_aliases SET alias = alias;
