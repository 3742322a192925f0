-- Verbs' families (Grains/Knowledge/VerbFamilies.cs; Knowledge:RussianHunspell, Knowledge:UkrainianHunspell): a verb's
-- two aspects and its action noun, stemmed as the entries' words are (Ukrainian ones as Russian), paired both ways:
-- "отменить" (отмен) meets "отменять" (отменя), "подключение" (подключен) meets "подключить" (подключ), as the word
-- itself; and a question's word takes its relatives' translations (Mueller's dictionary gives verbs in the
-- imperfective). By language (ru, uk): a question whose letters tell its language meets that language's relatives
-- only, as a Russian stem a Ukrainian word's shares is no relative of it. Shared by every tenant.
CREATE TABLE IF NOT EXISTS kb_verb_families (
    language text NOT NULL,
    lexeme   text NOT NULL,
    relative text NOT NULL,
    PRIMARY KEY (lexeme, language, relative)
);
