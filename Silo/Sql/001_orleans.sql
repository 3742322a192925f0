-- Orleans' ADO.NET providers (clustering, grain storage, reminders) on PostgreSQL. The packages ship no SQL: each
-- provider reads its statements from OrleansQuery by key at start and sends only those, so this file is the whole
-- contract: the tables, and a text per key with the parameters (@Name) and result columns the providers use
-- (docs: ../shared/reference/orleans-postgres.md). Where Orleans' own PostgreSQL scripts rely on plpgsql ASSERT (a
-- no-op under plpgsql.check_asserts=off) for all-or-nothing membership writes, these functions raise and catch an
-- exception explicitly; grain state gets the unique key the official table lacks; reminders keep grain ids of any length.

CREATE TABLE IF NOT EXISTS OrleansQuery (
    QueryKey  varchar(64) NOT NULL PRIMARY KEY,
    QueryText text        NOT NULL
);

-- Membership: one version row per cluster (DeploymentId = ClusterOptions.ClusterId) that every change bumps
-- (optimistic concurrency for the whole table), and a row per silo incarnation.
CREATE TABLE IF NOT EXISTS OrleansMembershipVersionTable (
    DeploymentId text           NOT NULL PRIMARY KEY,
    Timestamp    timestamptz(3) NOT NULL DEFAULT now(),
    Version      integer        NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS OrleansMembershipTable (
    DeploymentId text           NOT NULL REFERENCES OrleansMembershipVersionTable (DeploymentId),
    Address      text           NOT NULL,
    Port         integer        NOT NULL,
    Generation   integer        NOT NULL,
    SiloName     text           NOT NULL,
    HostName     text           NOT NULL,
    Status       integer        NOT NULL,
    ProxyPort    integer,
    SuspectTimes text,
    StartTime    timestamptz(3) NOT NULL,
    IAmAliveTime timestamptz(3) NOT NULL,
    PRIMARY KEY (DeploymentId, Address, Port, Generation)
);

-- Inserts a silo's row and bumps the table version from expected to expected + 1: both, or neither (returns 0).
CREATE OR REPLACE FUNCTION orleans_insert_membership(
    p_deployment text, p_address text, p_port integer, p_generation integer, p_silo_name text, p_host_name text,
    p_status integer, p_proxy_port integer, p_start_time timestamptz, p_alive_time timestamptz, p_expected integer) RETURNS integer
LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        UPDATE OrleansMembershipVersionTable SET Version = Version + 1, Timestamp = now()
        WHERE DeploymentId = p_deployment AND Version = p_expected;
        IF NOT FOUND THEN
            RETURN 0;
        END IF;
        INSERT INTO OrleansMembershipTable (DeploymentId, Address, Port, Generation, SiloName, HostName, Status, ProxyPort, StartTime, IAmAliveTime)
        VALUES (p_deployment, p_address, p_port, p_generation, p_silo_name, p_host_name, p_status, p_proxy_port, p_start_time, p_alive_time)
        ON CONFLICT DO NOTHING;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'unique_violation', MESSAGE = 'membership row exists';
        END IF;
        RETURN 1;
    EXCEPTION WHEN unique_violation THEN
        RETURN 0; -- the version bump above is rolled back with this block
    END;
END $$;

-- Updates a silo's row and bumps the table version from expected to expected + 1: both, or neither (returns 0).
CREATE OR REPLACE FUNCTION orleans_update_membership(
    p_deployment text, p_address text, p_port integer, p_generation integer, p_status integer, p_suspect_times text,
    p_alive_time timestamptz, p_expected integer) RETURNS integer
LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        UPDATE OrleansMembershipVersionTable SET Version = Version + 1, Timestamp = now()
        WHERE DeploymentId = p_deployment AND Version = p_expected;
        IF NOT FOUND THEN
            RETURN 0;
        END IF;
        UPDATE OrleansMembershipTable SET Status = p_status, SuspectTimes = p_suspect_times, IAmAliveTime = p_alive_time
        WHERE DeploymentId = p_deployment AND Address = p_address AND Port = p_port AND Generation = p_generation;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'no_data_found', MESSAGE = 'no such membership row';
        END IF;
        RETURN 1;
    EXCEPTION WHEN no_data_found THEN
        RETURN 0; -- the version bump above is rolled back with this block
    END;
END $$;

-- Grain state: a row per grain and state name (GrainTypeString is the state name, so each grain class names its own,
-- dotnet/orleans#8746). Versioned compare-and-swap writes; the unique key turns two racing first writes into one row
-- and a clean conflict, where the official table (no key) would keep both and fail every later read.
CREATE TABLE IF NOT EXISTS OrleansStorage (
    GrainIdHash            integer      NOT NULL,
    GrainIdN0              bigint       NOT NULL,
    GrainIdN1              bigint       NOT NULL,
    GrainTypeHash          integer      NOT NULL,
    GrainTypeString        text         NOT NULL,
    GrainIdExtensionString text,
    ServiceId              text         NOT NULL,
    PayloadBinary          bytea,
    ModifiedOn             timestamptz  NOT NULL DEFAULT now(),
    Version                integer
) WITH (fillfactor = 75); -- room on each page for the updated row, so a state write does not touch the index
CREATE UNIQUE INDEX IF NOT EXISTS OrleansStorage_Key ON OrleansStorage
    (ServiceId, GrainTypeHash, GrainIdHash, GrainIdN0, GrainIdN1, GrainTypeString, GrainIdExtensionString) NULLS NOT DISTINCT;

-- A write: the first one inserts (a racing second insert finds the row and returns no version: a conflict), the
-- others compare and swap on the version read. A function, planned once per connection, where the same text as one
-- statement with both branches measured 20% slower (bench.sh runtime).
CREATE OR REPLACE FUNCTION orleans_write_storage(
    p_grain_hash integer, p_n0 bigint, p_n1 bigint, p_type_hash integer, p_type text, p_extension text, p_service text,
    p_version integer, p_payload bytea) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    new_version integer;
BEGIN
    IF p_version IS NULL THEN
        INSERT INTO OrleansStorage (GrainIdHash, GrainIdN0, GrainIdN1, GrainTypeHash, GrainTypeString, GrainIdExtensionString, ServiceId, PayloadBinary, Version)
        VALUES (p_grain_hash, p_n0, p_n1, p_type_hash, p_type, p_extension, p_service, p_payload, 1)
        ON CONFLICT DO NOTHING
        RETURNING Version INTO new_version;
    ELSE
        UPDATE OrleansStorage SET PayloadBinary = p_payload, ModifiedOn = now(), Version = Version + 1
        WHERE ServiceId = p_service AND GrainTypeHash = p_type_hash AND GrainIdHash = p_grain_hash
          AND GrainIdN0 = p_n0 AND GrainIdN1 = p_n1 AND GrainTypeString = p_type
          AND GrainIdExtensionString IS NOT DISTINCT FROM p_extension AND Version = p_version
        RETURNING Version INTO new_version;
    END IF;
    RETURN new_version;
END $$;

-- Reminders: grain ids as long as they come (the official varchar(150) cuts off long string keys).
CREATE TABLE IF NOT EXISTS OrleansRemindersTable (
    ServiceId    text           NOT NULL,
    GrainId      text           NOT NULL,
    ReminderName text           NOT NULL,
    StartTime    timestamptz(3) NOT NULL,
    Period       bigint         NOT NULL,
    GrainHash    integer        NOT NULL,
    Version      integer        NOT NULL,
    PRIMARY KEY (ServiceId, GrainId, ReminderName)
);
CREATE INDEX IF NOT EXISTS OrleansRemindersTable_Hash ON OrleansRemindersTable (ServiceId, GrainHash);

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES
-- Clustering. Every key is required, by silos and by clients that find gateways through the table.
('InsertMembershipVersionKey', '
    WITH created AS (
        INSERT INTO OrleansMembershipVersionTable (DeploymentId) VALUES (@DeploymentId)
        ON CONFLICT (DeploymentId) DO NOTHING RETURNING 1)
    SELECT count(*)::integer FROM created'),
('UpdateIAmAlivetimeKey', '
    UPDATE OrleansMembershipTable SET IAmAliveTime = @IAmAliveTime
    WHERE DeploymentId = @DeploymentId AND Address = @Address AND Port = @Port AND Generation = @Generation'),
('InsertMembershipKey', '
    SELECT orleans_insert_membership(@DeploymentId::text, @Address::text, @Port::integer, @Generation::integer, @SiloName::text,
        @HostName::text, @Status::integer, @ProxyPort::integer, @StartTime::timestamptz, @IAmAliveTime::timestamptz, @Version::integer)'),
('UpdateMembershipKey', '
    SELECT orleans_update_membership(@DeploymentId::text, @Address::text, @Port::integer, @Generation::integer, @Status::integer,
        @SuspectTimes::text, @IAmAliveTime::timestamptz, @Version::integer)'),
('MembershipReadRowKey', '
    SELECT v.DeploymentId, m.Address, m.Port, m.Generation, m.SiloName, m.HostName, m.Status, m.ProxyPort, m.SuspectTimes,
           m.StartTime, m.IAmAliveTime, v.Version
    FROM OrleansMembershipVersionTable v
    LEFT JOIN OrleansMembershipTable m ON m.DeploymentId = v.DeploymentId
        AND m.Address = @Address AND m.Port = @Port AND m.Generation = @Generation
    WHERE v.DeploymentId = @DeploymentId'),
('MembershipReadAllKey', '
    SELECT v.DeploymentId, m.Address, m.Port, m.Generation, m.SiloName, m.HostName, m.Status, m.ProxyPort, m.SuspectTimes,
           m.StartTime, m.IAmAliveTime, v.Version
    FROM OrleansMembershipVersionTable v
    LEFT JOIN OrleansMembershipTable m ON m.DeploymentId = v.DeploymentId
    WHERE v.DeploymentId = @DeploymentId'),
('GatewaysQueryKey', '
    SELECT Address, ProxyPort, Generation FROM OrleansMembershipTable
    WHERE DeploymentId = @DeploymentId AND Status = @Status AND ProxyPort > 0'),
('DeleteMembershipTableEntriesKey', '
    DELETE FROM OrleansMembershipTable WHERE DeploymentId = @DeploymentId;
    DELETE FROM OrleansMembershipVersionTable WHERE DeploymentId = @DeploymentId'),
('CleanupDefunctSiloEntriesKey', '
    DELETE FROM OrleansMembershipTable
    WHERE DeploymentId = @DeploymentId AND Status = 6 AND IAmAliveTime < @IAmAliveTime'),
-- Grain storage.
('ReadFromStorageKey', '
    SELECT PayloadBinary, Version FROM OrleansStorage
    WHERE ServiceId = @ServiceId AND GrainTypeHash = @GrainTypeHash AND GrainIdHash = @GrainIdHash
      AND GrainIdN0 = @GrainIdN0 AND GrainIdN1 = @GrainIdN1 AND GrainTypeString = @GrainTypeString
      AND GrainIdExtensionString IS NOT DISTINCT FROM @GrainIdExtensionString::text'),
('WriteToStorageKey', '
    SELECT orleans_write_storage(@GrainIdHash::integer, @GrainIdN0::bigint, @GrainIdN1::bigint, @GrainTypeHash::integer,
        @GrainTypeString::text, @GrainIdExtensionString::text, @ServiceId::text, @GrainStateVersion::integer, @PayloadBinary::bytea)
        AS NewGrainStateVersion'),
('ClearStorageKey', '
    UPDATE OrleansStorage SET PayloadBinary = NULL, ModifiedOn = now(), Version = Version + 1
    WHERE ServiceId = @ServiceId AND GrainTypeHash = @GrainTypeHash AND GrainIdHash = @GrainIdHash
      AND GrainIdN0 = @GrainIdN0 AND GrainIdN1 = @GrainIdN1 AND GrainTypeString = @GrainTypeString
      AND GrainIdExtensionString IS NOT DISTINCT FROM @GrainIdExtensionString::text
      AND Version = @GrainStateVersion::integer
    RETURNING Version AS NewGrainStateVersion'),
-- Clearing a grain's state deletes its row (DeleteStateOnClear): an erased customer leaves nothing behind. The version
-- returned differs from the one sent, as the provider's consistency check requires; none comes back on a conflict.
('DeleteStorageKey', '
    WITH deleted AS (
        DELETE FROM OrleansStorage
        WHERE ServiceId = @ServiceId AND GrainTypeHash = @GrainTypeHash AND GrainIdHash = @GrainIdHash
          AND GrainIdN0 = @GrainIdN0 AND GrainIdN1 = @GrainIdN1 AND GrainTypeString = @GrainTypeString
          AND GrainIdExtensionString IS NOT DISTINCT FROM @GrainIdExtensionString::text
          AND Version = @GrainStateVersion::integer
        RETURNING Version)
    SELECT (SELECT Version + 1 FROM deleted) AS NewGrainStateVersion'),
-- Reminders.
('UpsertReminderRowKey', '
    INSERT INTO OrleansRemindersTable (ServiceId, GrainId, ReminderName, StartTime, Period, GrainHash, Version)
    VALUES (@ServiceId, @GrainId, @ReminderName, @StartTime, @Period, @GrainHash, 0)
    ON CONFLICT (ServiceId, GrainId, ReminderName) DO UPDATE SET
        StartTime = EXCLUDED.StartTime, Period = EXCLUDED.Period, GrainHash = EXCLUDED.GrainHash,
        Version = OrleansRemindersTable.Version + 1
    RETURNING Version'),
('ReadReminderRowsKey', '
    SELECT GrainId, ReminderName, StartTime, Period, Version FROM OrleansRemindersTable
    WHERE ServiceId = @ServiceId AND GrainId = @GrainId'),
('ReadReminderRowKey', '
    SELECT GrainId, ReminderName, StartTime, Period, Version FROM OrleansRemindersTable
    WHERE ServiceId = @ServiceId AND GrainId = @GrainId AND ReminderName = @ReminderName'),
('ReadRangeRows1Key', '
    SELECT GrainId, ReminderName, StartTime, Period, Version FROM OrleansRemindersTable
    WHERE ServiceId = @ServiceId AND GrainHash > @BeginHash AND GrainHash <= @EndHash'),
('ReadRangeRows2Key', '
    SELECT GrainId, ReminderName, StartTime, Period, Version FROM OrleansRemindersTable
    WHERE ServiceId = @ServiceId AND (GrainHash > @BeginHash OR GrainHash <= @EndHash)'),
('DeleteReminderRowKey', '
    WITH deleted AS (
        DELETE FROM OrleansRemindersTable
        WHERE ServiceId = @ServiceId AND GrainId = @GrainId AND ReminderName = @ReminderName AND Version = @Version
        RETURNING 1)
    SELECT count(*)::integer FROM deleted'),
('DeleteReminderRowsKey', '
    DELETE FROM OrleansRemindersTable WHERE ServiceId = @ServiceId')
ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;
