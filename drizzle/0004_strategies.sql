CREATE TABLE "backtests" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"owner_id" uuid NOT NULL,
	"status" text NOT NULL,
	"progress" double precision DEFAULT 0 NOT NULL,
	"bars_processed" integer DEFAULT 0 NOT NULL,
	"input" jsonb NOT NULL,
	"metrics" jsonb,
	"equity" jsonb,
	"trades" jsonb,
	"signals" integer DEFAULT 0 NOT NULL,
	"cancel_requested" boolean DEFAULT false NOT NULL,
	"error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "earnings" (
	"instrument_id" uuid NOT NULL,
	"date" date NOT NULL,
	"eps_estimate" numeric(24, 8),
	"eps_actual" numeric(24, 8),
	CONSTRAINT "earnings_instrument_id_date_pk" PRIMARY KEY("instrument_id","date")
);
--> statement-breakpoint
CREATE TABLE "screener_runs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"screener_id" uuid NOT NULL,
	"tick_key" text,
	"matches" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"finished_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "screeners" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"owner_id" uuid NOT NULL,
	"name" text NOT NULL,
	"kind" text NOT NULL,
	"params" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"rule" text,
	"universe" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"interval" text DEFAULT '1d' NOT NULL,
	"schedule" text,
	"timezone" text,
	"output_watchlist_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "strategy_positions" (
	"strategy_id" uuid NOT NULL,
	"instrument_id" uuid NOT NULL,
	"side" text NOT NULL,
	"quantity" numeric(24, 8) DEFAULT '0' NOT NULL,
	"last_bar_at" timestamp with time zone,
	CONSTRAINT "strategy_positions_strategy_id_instrument_id_pk" PRIMARY KEY("strategy_id","instrument_id")
);
--> statement-breakpoint
CREATE TABLE "strategy_runs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"strategy_id" uuid NOT NULL,
	"status" text NOT NULL,
	"trigger" text NOT NULL,
	"tick_key" text,
	"started_at" timestamp with time zone NOT NULL,
	"finished_at" timestamp with time zone,
	"evaluated" integer DEFAULT 0 NOT NULL,
	"orders" integer DEFAULT 0 NOT NULL,
	"duration_ms" integer,
	"error" text
);
--> statement-breakpoint
CREATE TABLE "strategy_signals" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"strategy_id" uuid NOT NULL,
	"run_id" uuid,
	"instrument_id" uuid NOT NULL,
	"action" text NOT NULL,
	"price" numeric(24, 8),
	"quantity" numeric(24, 8),
	"bar_time" timestamp with time zone NOT NULL,
	"status" text NOT NULL,
	"order_id" uuid,
	"reason" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "strategies" ADD COLUMN "rules" jsonb;--> statement-breakpoint
ALTER TABLE "strategies" ADD COLUMN "interval" text DEFAULT '1d' NOT NULL;--> statement-breakpoint
ALTER TABLE "strategies" ADD COLUMN "universe" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "strategies" ADD COLUMN "sizing" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "strategies" ADD COLUMN "mode" text DEFAULT 'SIGNAL_ONLY' NOT NULL;--> statement-breakpoint
ALTER TABLE "strategies" ADD COLUMN "status" text DEFAULT 'ACTIVE' NOT NULL;--> statement-breakpoint
ALTER TABLE "strategies" ADD COLUMN "timezone" text;--> statement-breakpoint
ALTER TABLE "strategies" ADD COLUMN "next_run_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "backtests" ADD CONSTRAINT "backtests_owner_id_users_id_fk" FOREIGN KEY ("owner_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "earnings" ADD CONSTRAINT "earnings_instrument_id_instruments_id_fk" FOREIGN KEY ("instrument_id") REFERENCES "public"."instruments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "screener_runs" ADD CONSTRAINT "screener_runs_screener_id_screeners_id_fk" FOREIGN KEY ("screener_id") REFERENCES "public"."screeners"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "screeners" ADD CONSTRAINT "screeners_owner_id_users_id_fk" FOREIGN KEY ("owner_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "strategy_positions" ADD CONSTRAINT "strategy_positions_strategy_id_strategies_id_fk" FOREIGN KEY ("strategy_id") REFERENCES "public"."strategies"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "strategy_positions" ADD CONSTRAINT "strategy_positions_instrument_id_instruments_id_fk" FOREIGN KEY ("instrument_id") REFERENCES "public"."instruments"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "strategy_runs" ADD CONSTRAINT "strategy_runs_strategy_id_strategies_id_fk" FOREIGN KEY ("strategy_id") REFERENCES "public"."strategies"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "strategy_signals" ADD CONSTRAINT "strategy_signals_strategy_id_strategies_id_fk" FOREIGN KEY ("strategy_id") REFERENCES "public"."strategies"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "strategy_signals" ADD CONSTRAINT "strategy_signals_run_id_strategy_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."strategy_runs"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "strategy_signals" ADD CONSTRAINT "strategy_signals_instrument_id_instruments_id_fk" FOREIGN KEY ("instrument_id") REFERENCES "public"."instruments"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "strategy_signals" ADD CONSTRAINT "strategy_signals_order_id_orders_id_fk" FOREIGN KEY ("order_id") REFERENCES "public"."orders"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "backtests_owner_idx" ON "backtests" USING btree ("owner_id");--> statement-breakpoint
CREATE INDEX "screener_runs_screener_idx" ON "screener_runs" USING btree ("screener_id","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "screener_runs_tick_uq" ON "screener_runs" USING btree ("screener_id","tick_key");--> statement-breakpoint
CREATE INDEX "screeners_owner_idx" ON "screeners" USING btree ("owner_id");--> statement-breakpoint
CREATE INDEX "strategy_runs_strategy_idx" ON "strategy_runs" USING btree ("strategy_id","started_at");--> statement-breakpoint
CREATE UNIQUE INDEX "strategy_runs_tick_uq" ON "strategy_runs" USING btree ("strategy_id","tick_key");--> statement-breakpoint
CREATE UNIQUE INDEX "strategy_signals_bar_uq" ON "strategy_signals" USING btree ("strategy_id","instrument_id","bar_time","action");--> statement-breakpoint
CREATE INDEX "strategy_signals_run_idx" ON "strategy_signals" USING btree ("run_id");