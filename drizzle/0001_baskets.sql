CREATE TYPE "public"."basket_run_kind" AS ENUM('INVEST', 'INVEST_MORE', 'REBALANCE', 'EXIT', 'REPAIR', 'TARGET');--> statement-breakpoint
CREATE TYPE "public"."basket_run_status" AS ENUM('PLACING', 'SELLING', 'BUYING', 'COMPLETED', 'PARTIAL', 'FAILED', 'CANCELED');--> statement-breakpoint
CREATE TYPE "public"."investment_status" AS ENUM('PLACING', 'ACTIVE', 'NEEDS_REPAIR', 'OUT_OF_SYNC', 'EXITED');--> statement-breakpoint
CREATE TYPE "public"."visibility" AS ENUM('PRIVATE', 'PUBLIC');--> statement-breakpoint
CREATE TABLE "basket_run_orders" (
	"run_id" uuid NOT NULL,
	"order_id" uuid NOT NULL,
	"phase" text NOT NULL,
	CONSTRAINT "basket_run_orders_run_id_order_id_pk" PRIMARY KEY("run_id","order_id")
);
--> statement-breakpoint
CREATE TABLE "basket_runs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"user_id" uuid NOT NULL,
	"portfolio_id" uuid NOT NULL,
	"investment_id" uuid,
	"kind" "basket_run_kind" NOT NULL,
	"status" "basket_run_status" DEFAULT 'PLACING' NOT NULL,
	"client_request_id" text NOT NULL,
	"request_hash" text NOT NULL,
	"plan" jsonb NOT NULL,
	"summary" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"completed_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "investment_holdings" (
	"investment_id" uuid NOT NULL,
	"instrument_id" uuid NOT NULL,
	"quantity" numeric(24, 8) DEFAULT '0' NOT NULL,
	"average_cost" numeric(24, 8) DEFAULT '0' NOT NULL,
	"target_quantity" numeric(24, 8) DEFAULT '0' NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "investment_holdings_investment_id_instrument_id_pk" PRIMARY KEY("investment_id","instrument_id")
);
--> statement-breakpoint
CREATE TABLE "smallcase_version_constituents" (
	"smallcase_id" uuid NOT NULL,
	"version" integer DEFAULT 1 NOT NULL,
	"instrument_id" uuid NOT NULL,
	"weight" numeric(12, 8) NOT NULL,
	"base_price" numeric(24, 8) DEFAULT '0' NOT NULL,
	CONSTRAINT "smallcase_version_constituents_smallcase_id_version_instrument_id_pk" PRIMARY KEY("smallcase_id","version","instrument_id")
);
--> statement-breakpoint
CREATE TABLE "smallcase_versions" (
	"smallcase_id" uuid NOT NULL,
	"version" integer NOT NULL,
	"rationale" text,
	"index_base" numeric(24, 8) NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "smallcase_versions_smallcase_id_version_pk" PRIMARY KEY("smallcase_id","version")
);
--> statement-breakpoint
ALTER TABLE "smallcase_constituents" DISABLE ROW LEVEL SECURITY;--> statement-breakpoint
DROP TABLE "smallcase_constituents" CASCADE;--> statement-breakpoint
ALTER TABLE "smallcase_investments" ADD COLUMN "user_id" uuid;--> statement-breakpoint
ALTER TABLE "smallcase_investments" ADD COLUMN "version" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "smallcase_investments" ADD COLUMN "status" "investment_status" DEFAULT 'PLACING' NOT NULL;--> statement-breakpoint
ALTER TABLE "smallcase_investments" ADD COLUMN "updated_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "smallcases" ADD COLUMN "visibility" "visibility" DEFAULT 'PRIVATE' NOT NULL;--> statement-breakpoint
ALTER TABLE "smallcases" ADD COLUMN "currency" text NOT NULL;--> statement-breakpoint
ALTER TABLE "smallcases" ADD COLUMN "version" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "smallcases" ADD COLUMN "archived" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "smallcases" ADD COLUMN "updated_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "watchlist_items" ADD COLUMN "note" text;--> statement-breakpoint
ALTER TABLE "watchlists" ADD COLUMN "updated_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "basket_run_orders" ADD CONSTRAINT "basket_run_orders_run_id_basket_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."basket_runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "basket_run_orders" ADD CONSTRAINT "basket_run_orders_order_id_orders_id_fk" FOREIGN KEY ("order_id") REFERENCES "public"."orders"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "basket_runs" ADD CONSTRAINT "basket_runs_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "basket_runs" ADD CONSTRAINT "basket_runs_portfolio_id_portfolios_id_fk" FOREIGN KEY ("portfolio_id") REFERENCES "public"."portfolios"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "basket_runs" ADD CONSTRAINT "basket_runs_investment_id_smallcase_investments_id_fk" FOREIGN KEY ("investment_id") REFERENCES "public"."smallcase_investments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "investment_holdings" ADD CONSTRAINT "investment_holdings_investment_id_smallcase_investments_id_fk" FOREIGN KEY ("investment_id") REFERENCES "public"."smallcase_investments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "investment_holdings" ADD CONSTRAINT "investment_holdings_instrument_id_instruments_id_fk" FOREIGN KEY ("instrument_id") REFERENCES "public"."instruments"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "smallcase_version_constituents" ADD CONSTRAINT "smallcase_version_constituents_smallcase_id_smallcases_id_fk" FOREIGN KEY ("smallcase_id") REFERENCES "public"."smallcases"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "smallcase_version_constituents" ADD CONSTRAINT "smallcase_version_constituents_instrument_id_instruments_id_fk" FOREIGN KEY ("instrument_id") REFERENCES "public"."instruments"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "smallcase_versions" ADD CONSTRAINT "smallcase_versions_smallcase_id_smallcases_id_fk" FOREIGN KEY ("smallcase_id") REFERENCES "public"."smallcases"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "basket_run_orders_order_uq" ON "basket_run_orders" USING btree ("order_id");--> statement-breakpoint
CREATE UNIQUE INDEX "basket_runs_user_request_uq" ON "basket_runs" USING btree ("user_id","client_request_id");--> statement-breakpoint
CREATE INDEX "basket_runs_investment_idx" ON "basket_runs" USING btree ("investment_id");--> statement-breakpoint
CREATE INDEX "basket_runs_active_idx" ON "basket_runs" USING btree ("status","updated_at");--> statement-breakpoint
ALTER TABLE "smallcase_investments" ADD CONSTRAINT "smallcase_investments_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "smallcases_visibility_idx" ON "smallcases" USING btree ("visibility");--> statement-breakpoint
ALTER TABLE "smallcases" DROP COLUMN "is_public";