-- The audit log's schema, beside its one writer (Mediation/AuditLog.cs). Idempotent: a database made before
-- this file had the table from the customers module (Grains/Sql/001_customers.sql).

-- Who did what through the agent API.
CREATE TABLE IF NOT EXISTS audit_log (
    id        bigserial   PRIMARY KEY,
    tenant_id text        NOT NULL,
    actor     text        NOT NULL,
    action    text        NOT NULL,
    target    text,
    outcome   text        NOT NULL,
    at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS audit_log_tenant ON audit_log (tenant_id, at DESC);
