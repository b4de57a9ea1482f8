-- Custom (relay): events an older version left unpublished (published_at is null) become pending rows
-- (one per 500 ids), so the new relay's poller publishes them (at least once), before published_at is dropped by the
-- next migration. Idempotent: a no-op once published_at is gone, and ids already pending are skipped.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = 'outbox_events' AND column_name = 'published_at')
     AND EXISTS (SELECT 1 FROM information_schema.tables
             WHERE table_schema = current_schema() AND table_name = 'outbox_pending') THEN
    INSERT INTO outbox_pending (event_ids, created_at)
    SELECT array_agg(e.id ORDER BY e.id), now() - interval '1 hour'
    FROM outbox_events e
    WHERE e.published_at IS NULL
      AND NOT EXISTS (SELECT 1 FROM outbox_pending p WHERE e.id = ANY (p.event_ids))
    GROUP BY e.id / 500;
  END IF;
END $$;
