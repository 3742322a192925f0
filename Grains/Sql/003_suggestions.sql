-- Every suggestion shown to an agent, and what the agent did with it. The message is stored masked (placeholders,
-- no personal data); accepted and edited replies are searched as past replies for later suggestions.
CREATE TABLE IF NOT EXISTS suggestion_audit (
    tenant_id     text        NOT NULL,
    suggestion_id text        NOT NULL,
    customer_id   text        NOT NULL,
    requested_by  text        NOT NULL,
    model         text,
    prompt_hash   text,
    kind          text        NOT NULL CHECK (kind IN ('generated', 'retrieved')),
    sources       text[]      NOT NULL DEFAULT '{}',
    message       text        NOT NULL,
    text          text        NOT NULL,
    degraded      boolean     NOT NULL,
    reason        text,
    latency_ms    double precision NOT NULL,
    outcome       text        NOT NULL DEFAULT 'shown' CHECK (outcome IN ('shown', 'accepted', 'edited', 'rejected')),
    final_text    text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    decided_at    timestamptz,
    PRIMARY KEY (tenant_id, suggestion_id)
);
CREATE INDEX IF NOT EXISTS suggestion_audit_customer ON suggestion_audit (tenant_id, customer_id);
CREATE INDEX IF NOT EXISTS suggestion_audit_accepted ON suggestion_audit USING gin (lower(message) gin_trgm_ops) WHERE outcome IN ('accepted', 'edited');
