CREATE TABLE "broker_order_refs" (
	"broker" text NOT NULL,
	"account" text NOT NULL,
	"ref" text NOT NULL,
	"client_order_id" text NOT NULL,
	"broker_order_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "broker_connections" ALTER COLUMN "account_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "broker_connections" ALTER COLUMN "status" SET DEFAULT 'PENDING';--> statement-breakpoint
ALTER TABLE "broker_connections" ADD COLUMN "label" text;--> statement-breakpoint
ALTER TABLE "broker_connections" ADD COLUMN "key_id" text;--> statement-breakpoint
ALTER TABLE "broker_connections" ADD COLUMN "state_hash" text;--> statement-breakpoint
ALTER TABLE "broker_connections" ADD COLUMN "expires_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "broker_connections" ADD COLUMN "last_error" text;--> statement-breakpoint
CREATE UNIQUE INDEX "broker_order_refs_ref_uq" ON "broker_order_refs" USING btree ("broker","account","ref");--> statement-breakpoint
CREATE INDEX "broker_order_refs_order_idx" ON "broker_order_refs" USING btree ("broker","account","broker_order_id");--> statement-breakpoint
CREATE UNIQUE INDEX "broker_connections_state_uq" ON "broker_connections" USING btree ("state_hash");