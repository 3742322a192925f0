-- Cluster membership and grain state, shaped like Orleans' ADO.NET clustering and persistence tables.

-- One row per cluster; bumped by every membership change so silos re-read members only when it moved.
CREATE TABLE IF NOT EXISTS cluster_version (
    cluster_id text PRIMARY KEY,
    version    bigint NOT NULL
);

-- One row per silo process (silo_id carries a start generation, so a restarted silo is a new row).
CREATE TABLE IF NOT EXISTS cluster_silos (
    cluster_id   text        NOT NULL,
    silo_id      text        NOT NULL,
    silo_name    text        NOT NULL,
    endpoint     text        NOT NULL,
    status       text        NOT NULL CHECK (status IN ('Joining', 'Active', 'ShuttingDown', 'Dead')),
    started_at   timestamptz NOT NULL,
    heartbeat_at timestamptz NOT NULL,
    PRIMARY KEY (cluster_id, silo_id)
);

-- Grain state: one row per grain and state name; every write is conditional on the version read.
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
