-- The knowledge base: entries and the questions employees ask. (Until 2026-12 this file also created the escalation
-- outbox, now Storage/Sql/002_kb_notifications.sql: a database made then has it already.)
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE IF NOT EXISTS kb_entries (
    tenant_id   text        NOT NULL,
    entry_id    text        NOT NULL,
    question    text        NOT NULL,
    answer      text        NOT NULL,
    tags        text[]      NOT NULL DEFAULT '{}',
    language    text,
    source      text        NOT NULL CHECK (source IN ('article', 'senior-answer', 'accepted-reply')),
    author      text,
    times_asked int         NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    -- Stemmed in English and Russian (word forms) and unstemmed (other languages, names, codes); questions weigh
    -- more than answers.
    search      tsvector GENERATED ALWAYS AS (
                    setweight(to_tsvector('english', question), 'A') || setweight(to_tsvector('russian', question), 'A')
                    || setweight(to_tsvector('simple', question), 'A')
                    || setweight(to_tsvector('english', answer), 'C') || setweight(to_tsvector('russian', answer), 'C')) STORED,
    PRIMARY KEY (tenant_id, entry_id)
);
CREATE INDEX IF NOT EXISTS kb_entries_search ON kb_entries USING gin (search);
CREATE INDEX IF NOT EXISTS kb_entries_question_trgm ON kb_entries USING gin (lower(question) gin_trgm_ops);

CREATE TABLE IF NOT EXISTS kb_questions (
    tenant_id   text        NOT NULL,
    question_id text        NOT NULL,
    question    text        NOT NULL,
    normalized  text        NOT NULL,  -- lower case, single spaces: the same question asked again counts here
    asked_by    text        NOT NULL,
    status      text        NOT NULL CHECK (status IN ('Unanswered', 'AwaitingSenior', 'AddedToKb', 'Faq')),
    entry_id    text,
    times_asked int         NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, question_id),
    UNIQUE (tenant_id, normalized)
);
CREATE INDEX IF NOT EXISTS kb_questions_status ON kb_questions (tenant_id, status);
