-- Ukrainian, for which PostgreSQL has no stemmer (the entries' Ukrainian words are stemmed as Russian ones, in their
-- search vectors and in a question alike), from Apertium's Russian-Ukrainian pair loaded at start
-- (Grains/Knowledge/Lexicon.cs, Knowledge:UkrainianRussian). Shared by every tenant.
-- The stems of one Ukrainian lemma's forms, each paired with the others both ways: "договору" meets "договір".
CREATE TABLE IF NOT EXISTS kb_forms (
    lexeme text NOT NULL,
    form   text NOT NULL,
    PRIMARY KEY (lexeme, form)
);

-- A Ukrainian form's stem and the Russian stems of its lemma's translations ("скасувати" and "отмен"): a Ukrainian
-- question finds Russian entries, and through kb_lexicon English ones; and the other way round.
CREATE TABLE IF NOT EXISTS kb_lexicon_uk (
    ukrainian text NOT NULL,
    russian   text NOT NULL,
    PRIMARY KEY (ukrainian, russian)
);
CREATE INDEX IF NOT EXISTS kb_lexicon_uk_russian ON kb_lexicon_uk (russian);

-- Ukrainian's function words ("як", "чи", "мій", "для", "є"), which a question's content words leave out as the Russian
-- configuration leaves out Russian ones (kb_content_words, Sql/019).
CREATE TABLE IF NOT EXISTS kb_function_words (
    word text PRIMARY KEY
);
