-- The inbox's schema, beside its one writer (Storage/InboxTable.cs). Every statement is idempotent: a database
-- made before this module had the table from the customers module (Grains/Sql/001_customers.sql, 011_inbox_trace.sql).

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

-- The W3C traceparent of the webhook request that wrote a row: its delivery, on whichever silo, continues that trace.
ALTER TABLE inbox ADD COLUMN IF NOT EXISTS trace_parent text;
