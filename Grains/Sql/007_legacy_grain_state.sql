-- Before Orleans, the project's own runtime kept grain state in grain_state (JSON, camelCase). A customer's row moves
-- into Orleans' storage when the customer first activates (CustomerGrain, CustomerStore.TakeLegacyStateAsync) and is
-- erased with the customer. Created here when absent, so that code needs no check; empty on a new installation.
CREATE TABLE IF NOT EXISTS grain_state (
    service_id text        NOT NULL,
    grain_type text        NOT NULL,
    grain_key  text        NOT NULL,
    state_name text        NOT NULL,
    version    bigint      NOT NULL,
    payload    jsonb       NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (service_id, grain_type, grain_key, state_name)
);
