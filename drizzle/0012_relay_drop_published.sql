DROP INDEX "outbox_unpublished_idx";--> statement-breakpoint
ALTER TABLE "outbox_events" DROP COLUMN "published_at";