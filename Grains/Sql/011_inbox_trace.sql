-- The W3C traceparent of the webhook request that wrote a row: its delivery, on whichever silo, continues that trace.
ALTER TABLE inbox ADD COLUMN IF NOT EXISTS trace_parent text;
