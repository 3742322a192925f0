-- The customer directory the console searches: one row per customer with what identifies them to an agent (name,
-- emails, phones; external ids are in customer_identities) and when they were last active. Written by the customer
-- grain with each append, in the append's statement. Customers from before this table get a row from their history
-- here, and their name with their next message.
-- What a search matches, lower case: name, emails and phones (digits also without separators). Declared immutable
-- for the generated column: array_to_string is only stable because of arrays of types whose output depends on
-- settings, which text is not.
CREATE OR REPLACE FUNCTION customer_search_text(name text, emails text[], phones text[]) RETURNS text
    IMMUTABLE PARALLEL SAFE LANGUAGE sql
    RETURN lower(coalesce(name, '') || ' ' || array_to_string(emails, ' ') || ' ' || array_to_string(phones, ' ')
                 || ' ' || translate(regexp_replace(array_to_string(phones, '|'), '[^0-9|]', '', 'g'), '|', ' '));

CREATE TABLE IF NOT EXISTS customers (
    tenant_id      text        NOT NULL,
    customer_id    text        NOT NULL,
    name           text,
    emails         text[]      NOT NULL DEFAULT '{}',
    phones         text[]      NOT NULL DEFAULT '{}',
    last_active_at timestamptz NOT NULL,
    search         text GENERATED ALWAYS AS (customer_search_text(name, emails, phones)) STORED,
    PRIMARY KEY (tenant_id, customer_id)
);
CREATE INDEX IF NOT EXISTS customers_recent ON customers (tenant_id, last_active_at DESC, customer_id);
CREATE INDEX IF NOT EXISTS customers_search ON customers USING gin (search gin_trgm_ops);
CREATE INDEX IF NOT EXISTS customer_identities_external ON customer_identities USING gin (lower(external_id) gin_trgm_ops);

INSERT INTO customers (tenant_id, customer_id, last_active_at)
SELECT tenant_id, customer_id, max(occurred_at) FROM customer_interactions GROUP BY tenant_id, customer_id
ON CONFLICT DO NOTHING;

-- The order interactions were stored in, per table: what a live view has seen (Last-Event-ID) and what it missed.
ALTER TABLE customer_interactions ADD COLUMN IF NOT EXISTS seq bigint GENERATED ALWAYS AS IDENTITY;
CREATE INDEX IF NOT EXISTS customer_interactions_seq ON customer_interactions (tenant_id, customer_id, seq);
