-- Replies agents send into a CRM conversation, written in the transaction that answers 202 and delivered from here
-- (Gateway/Replies/ReplyDispatcher.cs) with retries and the vendor's rate limits; owned by Gateway/Replies/ReplyStore.cs.
CREATE TABLE IF NOT EXISTS reply_outbox (
    tenant_id       text        NOT NULL,
    reply_id        text        NOT NULL,
    idempotency_key text        NOT NULL,  -- the agent's Idempotency-Key: the same key never sends twice
    customer_id     text        NOT NULL,
    provider        text        NOT NULL,
    connection_id   text        NOT NULL,
    conversation_id text        NOT NULL,
    channel         text        NOT NULL,  -- the conversation's, for the history
    body            text        NOT NULL,
    private         boolean     NOT NULL,
    suggestion_id   text,
    sent_by         text        NOT NULL,
    status          text        NOT NULL CHECK (status IN ('queued', 'sent', 'failed')),
    attempts        int         NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    message_id      text,                  -- the CRM's id of the sent message: its webhook echo is recognised by it
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    PRIMARY KEY (tenant_id, reply_id),
    UNIQUE (tenant_id, idempotency_key)
);
CREATE INDEX IF NOT EXISTS reply_outbox_due ON reply_outbox (next_attempt_at) WHERE status = 'queued';
CREATE INDEX IF NOT EXISTS reply_outbox_customer ON reply_outbox (tenant_id, customer_id);
