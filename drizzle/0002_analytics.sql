CREATE TABLE "imported_activities" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"portfolio_id" uuid NOT NULL,
	"fingerprint" text NOT NULL,
	"occurred_at" timestamp with time zone NOT NULL,
	"type" text NOT NULL,
	"instrument_id" uuid,
	"quantity" numeric(24, 8),
	"price" numeric(24, 8),
	"amount" numeric(24, 8),
	"fee" numeric(24, 8),
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "portfolio_valuations" (
	"portfolio_id" uuid NOT NULL,
	"day" date NOT NULL,
	"cash" numeric(24, 8) NOT NULL,
	"positions_value" numeric(24, 8) NOT NULL,
	"value" numeric(24, 8) NOT NULL,
	"net_flow" numeric(24, 8) DEFAULT '0' NOT NULL,
	"carried_prices" integer DEFAULT 0 NOT NULL,
	"missing_prices" integer DEFAULT 0 NOT NULL,
	"computed_at" timestamp with time zone NOT NULL,
	CONSTRAINT "portfolio_valuations_portfolio_id_day_pk" PRIMARY KEY("portfolio_id","day")
);
--> statement-breakpoint
ALTER TABLE "imported_activities" ADD CONSTRAINT "imported_activities_portfolio_id_portfolios_id_fk" FOREIGN KEY ("portfolio_id") REFERENCES "public"."portfolios"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "imported_activities" ADD CONSTRAINT "imported_activities_instrument_id_instruments_id_fk" FOREIGN KEY ("instrument_id") REFERENCES "public"."instruments"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "portfolio_valuations" ADD CONSTRAINT "portfolio_valuations_portfolio_id_portfolios_id_fk" FOREIGN KEY ("portfolio_id") REFERENCES "public"."portfolios"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "imported_activities_fp_uq" ON "imported_activities" USING btree ("portfolio_id","fingerprint");--> statement-breakpoint
CREATE INDEX "imported_activities_portfolio_idx" ON "imported_activities" USING btree ("portfolio_id","occurred_at");