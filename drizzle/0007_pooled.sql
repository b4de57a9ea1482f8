CREATE TABLE "pooled_accounts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"broker" text NOT NULL,
	"broker_connection_id" uuid,
	"window_ms" integer NOT NULL,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "pooled_accounts_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "pooled_allocations" (
	"parent_id" uuid NOT NULL,
	"parent_fill_key" text NOT NULL,
	"child_order_id" uuid NOT NULL,
	"quantity" numeric(24, 8) NOT NULL,
	"price" numeric(24, 8) NOT NULL,
	"fee" numeric(24, 8) DEFAULT '0' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "pooled_allocations_parent_id_parent_fill_key_child_order_id_pk" PRIMARY KEY("parent_id","parent_fill_key","child_order_id")
);
--> statement-breakpoint
CREATE TABLE "pooled_children" (
	"order_id" uuid PRIMARY KEY NOT NULL,
	"parent_id" uuid NOT NULL
);
--> statement-breakpoint
CREATE TABLE "pooled_members" (
	"portfolio_id" uuid PRIMARY KEY NOT NULL,
	"pooled_account_id" uuid NOT NULL
);
--> statement-breakpoint
CREATE TABLE "pooled_parent_fills" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"parent_id" uuid NOT NULL,
	"broker_fill_id" text NOT NULL,
	"quantity" numeric(24, 8) NOT NULL,
	"price" numeric(24, 8) NOT NULL,
	"fee" numeric(24, 8) DEFAULT '0' NOT NULL,
	"executed_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "pooled_parent_orders" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"pooled_account_id" uuid NOT NULL,
	"window_key" text NOT NULL,
	"instrument_id" uuid NOT NULL,
	"side" "order_side" NOT NULL,
	"quantity" numeric(24, 8) NOT NULL,
	"filled_quantity" numeric(24, 8) DEFAULT '0' NOT NULL,
	"average_fill_price" numeric(24, 8),
	"crossed_quantity" numeric(24, 8) DEFAULT '0' NOT NULL,
	"crossed_price" numeric(24, 8),
	"protection_price" numeric(24, 8),
	"status" "order_status" DEFAULT 'PENDING' NOT NULL,
	"broker_order_id" text,
	"reject_reason" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "pooled_accounts" ADD CONSTRAINT "pooled_accounts_broker_connection_id_broker_connections_id_fk" FOREIGN KEY ("broker_connection_id") REFERENCES "public"."broker_connections"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pooled_accounts" ADD CONSTRAINT "pooled_accounts_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pooled_allocations" ADD CONSTRAINT "pooled_allocations_parent_id_pooled_parent_orders_id_fk" FOREIGN KEY ("parent_id") REFERENCES "public"."pooled_parent_orders"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pooled_allocations" ADD CONSTRAINT "pooled_allocations_child_order_id_orders_id_fk" FOREIGN KEY ("child_order_id") REFERENCES "public"."orders"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pooled_children" ADD CONSTRAINT "pooled_children_order_id_orders_id_fk" FOREIGN KEY ("order_id") REFERENCES "public"."orders"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pooled_children" ADD CONSTRAINT "pooled_children_parent_id_pooled_parent_orders_id_fk" FOREIGN KEY ("parent_id") REFERENCES "public"."pooled_parent_orders"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pooled_members" ADD CONSTRAINT "pooled_members_portfolio_id_portfolios_id_fk" FOREIGN KEY ("portfolio_id") REFERENCES "public"."portfolios"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pooled_members" ADD CONSTRAINT "pooled_members_pooled_account_id_pooled_accounts_id_fk" FOREIGN KEY ("pooled_account_id") REFERENCES "public"."pooled_accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pooled_parent_fills" ADD CONSTRAINT "pooled_parent_fills_parent_id_pooled_parent_orders_id_fk" FOREIGN KEY ("parent_id") REFERENCES "public"."pooled_parent_orders"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pooled_parent_orders" ADD CONSTRAINT "pooled_parent_orders_pooled_account_id_pooled_accounts_id_fk" FOREIGN KEY ("pooled_account_id") REFERENCES "public"."pooled_accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pooled_parent_orders" ADD CONSTRAINT "pooled_parent_orders_instrument_id_instruments_id_fk" FOREIGN KEY ("instrument_id") REFERENCES "public"."instruments"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "pooled_children_parent_idx" ON "pooled_children" USING btree ("parent_id");--> statement-breakpoint
CREATE INDEX "pooled_members_account_idx" ON "pooled_members" USING btree ("pooled_account_id");--> statement-breakpoint
CREATE UNIQUE INDEX "pooled_parent_fills_uq" ON "pooled_parent_fills" USING btree ("parent_id","broker_fill_id");--> statement-breakpoint
CREATE UNIQUE INDEX "pooled_parent_window_uq" ON "pooled_parent_orders" USING btree ("pooled_account_id","window_key","instrument_id");--> statement-breakpoint
CREATE INDEX "pooled_parent_account_idx" ON "pooled_parent_orders" USING btree ("pooled_account_id","created_at");