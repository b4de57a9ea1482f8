ALTER TABLE "outbox_events" DROP CONSTRAINT "outbox_events_portfolio_id_portfolios_id_fk";
--> statement-breakpoint
ALTER TABLE "pooled_parent_reductions" ADD COLUMN "kind" text DEFAULT 'REDUCE' NOT NULL;