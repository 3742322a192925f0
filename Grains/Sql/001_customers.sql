-- Customer data. Every table is keyed by tenant. (Until 2026-12 this file also created the inbox, now
-- Storage/Sql/001_inbox.sql, and the audit log, now Gateway/Sql/003_audit_log.sql: a database made then has them already.)

-- External identities (chatwoot:42, hubspot:901, email:ann@example.com) of each customer.
CREATE TABLE IF NOT EXISTS customer_identities (
    tenant_id   text        NOT NULL,
    provider    text        NOT NULL,
    external_id text        NOT NULL,
    customer_id text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, provider, external_id)
);
CREATE INDEX IF NOT EXISTS customer_identities_customer ON customer_identities (tenant_id, customer_id);

-- Conversation history, one row per interaction; the key makes appending twice a no-op.
CREATE TABLE IF NOT EXISTS customer_interactions (
    tenant_id       text             NOT NULL,
    source          text             NOT NULL,
    event_id        text             NOT NULL,
    customer_id     text             NOT NULL,
    channel         text             NOT NULL,
    direction       text             NOT NULL,
    body            text             NOT NULL,
    occurred_at     timestamptz      NOT NULL,
    conversation_id text,
    sentiment       double precision,
    received_at     timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, source, event_id)
);
CREATE INDEX IF NOT EXISTS customer_interactions_customer ON customer_interactions (tenant_id, customer_id, occurred_at DESC);
