-- Who may act on a question and what they may pick: every key that asked it (escalating or picking is theirs, or a
-- senior's), and every entry an ask offered for it (a pick names one of those, not any entry of the tenant).
ALTER TABLE kb_questions ADD COLUMN IF NOT EXISTS askers text[] NOT NULL DEFAULT '{}';
ALTER TABLE kb_questions ADD COLUMN IF NOT EXISTS offered text[] NOT NULL DEFAULT '{}';
UPDATE kb_questions SET askers = ARRAY[asked_by] WHERE askers = '{}';
