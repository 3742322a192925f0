-- Customer data. Every table is keyed by tenant.

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

-- The durable inbox: a webhook's events are written here before the CRM gets its 2xx.
CREATE TABLE IF NOT EXISTS inbox (
    id              bigserial   PRIMARY KEY,
    tenant_id       text        NOT NULL,
    dedupe_key      text        NOT NULL,
    provider        text        NOT NULL,
    connection_id   text        NOT NULL,
    identity_key    text        NOT NULL,  -- the event's primary identity (chatwoot:42): per-customer order, erase
    customer_id     text,                  -- set when delivered
    payload         jsonb,                 -- the mapped event; null once erased
    status          text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'poison')),
    attempts        int         NOT NULL DEFAULT 0,
    last_error      text,
    received_at     timestamptz NOT NULL DEFAULT now(),
    -- When a pending row is next due. A silo delivering it pushes this forward by the claim timeout: if the silo
    -- dies, the row falls due again and another silo delivers it. Failures push it by the back-off.
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    done_at         timestamptz,
    UNIQUE (tenant_id, dedupe_key)
);
CREATE INDEX IF NOT EXISTS inbox_due ON inbox (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS inbox_customer ON inbox (tenant_id, customer_id);
CREATE INDEX IF NOT EXISTS inbox_identity ON inbox (tenant_id, identity_key);

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
