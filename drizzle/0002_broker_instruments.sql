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
ALTER TABLE "broker_instruments" ADD CONSTRAINT "broker_instruments_instrument_id_instruments_id_fk" FOREIGN KEY ("instrument_id") REFERENCES "public"."instruments"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "broker_instruments_symbol_uq" ON "broker_instruments" USING btree ("broker","exchange","symbol");--> statement-breakpoint
CREATE INDEX "broker_instruments_token_idx" ON "broker_instruments" USING btree ("broker","token");--> statement-breakpoint
CREATE INDEX "broker_instruments_isin_idx" ON "broker_instruments" USING btree ("isin");