-- Why an agent rejected (or changed) a suggestion, in their words: what the audit shows beside the outcome.
ALTER TABLE suggestion_audit ADD COLUMN IF NOT EXISTS feedback_reason text;
