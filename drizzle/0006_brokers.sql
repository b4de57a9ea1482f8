CREATE TABLE "broker_instruments" (
	"broker" text NOT NULL,
	"exchange" text NOT NULL,
	"symbol" text NOT NULL,
	"token" text NOT NULL,
	"isin" text,
	"lot_size" text,
	"tick_size" text,
	"instrument_id" uuid,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
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
ALTER TABLE "broker_instruments" ADD CONSTRAINT "broker_instruments_instrument_id_instruments_id_fk" FOREIGN KEY ("instrument_id") REFERENCES "public"."instruments"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "broker_instruments_symbol_uq" ON "broker_instruments" USING btree ("broker","exchange","symbol");--> statement-breakpoint
CREATE INDEX "broker_instruments_token_idx" ON "broker_instruments" USING btree ("broker","token");--> statement-breakpoint
CREATE INDEX "broker_instruments_isin_idx" ON "broker_instruments" USING btree ("isin");--> statement-breakpoint
CREATE UNIQUE INDEX "broker_order_refs_ref_uq" ON "broker_order_refs" USING btree ("broker","account","ref");--> statement-breakpoint
CREATE INDEX "broker_order_refs_order_idx" ON "broker_order_refs" USING btree ("broker","account","broker_order_id");--> statement-breakpoint
CREATE UNIQUE INDEX "broker_connections_state_uq" ON "broker_connections" USING btree ("state_hash");