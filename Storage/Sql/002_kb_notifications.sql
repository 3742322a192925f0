-- The escalation outbox's schema, beside its one owner (Storage/KbNotificationsTable.cs). Idempotent: a database made
-- before this file had the table from the customers module (Grains/Sql/002_knowledge.sql).

-- Outbox of escalation notifications: written with the escalation, sent (and retried) by the gateway.
CREATE TABLE IF NOT EXISTS kb_notifications (
    id              bigserial   PRIMARY KEY,
    tenant_id       text        NOT NULL,
    question_id     text        NOT NULL,
    payload         jsonb       NOT NULL,
    status          text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        int         NOT NULL DEFAULT 0,
    last_error      text,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS kb_notifications_due ON kb_notifications (next_attempt_at) WHERE status = 'pending';
