-- Synonyms within a language, as pairs of stems (both ways) from the thesauri loaded at start (Grains/Knowledge/Lexicon.cs,
-- Knowledge:Thesauri): a question's word meets an entry that has a synonym of it instead.
CREATE TABLE IF NOT EXISTS kb_synonyms (
    lexeme  text NOT NULL,
    synonym text NOT NULL,
    PRIMARY KEY (lexeme, synonym)
);
