-- Translations between English and Russian word stems, as the english and russian text-search configurations make
-- them (so they meet the entries' search vectors), from a bilingual dictionary loaded at start
-- (Grains/Knowledge/Lexicon.cs, Knowledge:EnglishRussianDictionary). Shared by every tenant; a question's words are
-- expanded through it to find entries written in the other language.
CREATE TABLE IF NOT EXISTS kb_lexicon (
    english text NOT NULL,
    russian text NOT NULL,
    PRIMARY KEY (english, russian)
);
CREATE INDEX IF NOT EXISTS kb_lexicon_russian ON kb_lexicon (russian);

-- Which dictionaries (file name and size) are in kb_lexicon, so that a silo starting does not read them again.
CREATE TABLE IF NOT EXISTS kb_lexicon_sources (
    source    text        PRIMARY KEY,
    pairs     int         NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT now()
);
