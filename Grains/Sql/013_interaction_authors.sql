-- Both sides of the conversation: who wrote an outbound message (the agent's name or id, as the CRM says), and
-- whether a bot did.
ALTER TABLE customer_interactions ADD COLUMN IF NOT EXISTS author text;
ALTER TABLE customer_interactions ADD COLUMN IF NOT EXISTS from_bot boolean NOT NULL DEFAULT false;
