-- Reads of a connection's past conversations through the CRM's API: an admin's import (from a start date) and the
-- periodic reconciliation that stores what webhooks missed. One row per connection and kind; the cursor is stored
-- after every conversation, so a run resumes where it stopped on whichever silo takes its lease next.
-- Owned by Gateway/History/HistoryStore.cs; run by Gateway/History/HistoryImporter.cs.
CREATE TABLE IF NOT EXISTS history_runs (
    tenant_id     text        NOT NULL,
    connection_id text        NOT NULL,
    kind          text        NOT NULL CHECK (kind IN ('import', 'reconcile')),
    provider      text        NOT NULL,
    status        text        NOT NULL CHECK (status IN ('running', 'done', 'failed')),
    since         timestamptz NOT NULL,          -- messages before this are not read
    page          text,                          -- the CRM's token of the page of conversations being read (null: the first)
    page_done     int         NOT NULL DEFAULT 0, -- conversations of that page already stored
    conversations int         NOT NULL DEFAULT 0,
    messages      int         NOT NULL DEFAULT 0, -- read since the start date, both sides
    queued        int         NOT NULL DEFAULT 0, -- of those, new to the inbox (the rest it had already)
    skipped       int         NOT NULL DEFAULT 0, -- conversations whose data could not be mapped (logged, event 2062)
    requests      bigint      NOT NULL DEFAULT 0,
    throttled     int         NOT NULL DEFAULT 0, -- 429s the CRM answered
    error         text,
    started_by    text,
    started_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    lease_owner   text,
    lease_until   timestamptz NOT NULL DEFAULT '-infinity',
    PRIMARY KEY (tenant_id, connection_id, kind)
);
CREATE INDEX IF NOT EXISTS history_runs_due ON history_runs (lease_until) WHERE status = 'running';
