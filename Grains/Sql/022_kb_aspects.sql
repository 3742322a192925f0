-- Russian verbs' two aspects (Grains/Knowledge/RussianAspects.cs, Knowledge:RussianHunspell), stemmed as the entries'
-- words are, paired both ways: "отменить" (отмен) meets "отменять" (отменя) as the word itself, and a question's
-- perfective takes the translations of its imperfective. Apart from kb_forms (Ukrainian forms), whose Ukrainian stems
-- would meet unrelated Russian translations. Shared by every tenant.
CREATE TABLE IF NOT EXISTS kb_aspects (
    lexeme  text NOT NULL,
    partner text NOT NULL,
    PRIMARY KEY (lexeme, partner)
);
