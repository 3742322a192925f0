-- Feedback per source (acceptance rates weigh retrieval), and accepted replies a senior promoted into the knowledge base.
CREATE INDEX IF NOT EXISTS suggestion_audit_sources ON suggestion_audit USING gin (sources) WHERE outcome <> 'shown';
ALTER TABLE suggestion_audit ADD COLUMN IF NOT EXISTS promoted_entry text;
