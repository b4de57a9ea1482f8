CREATE TABLE "pooled_parent_reductions" (
	"child_order_id" uuid PRIMARY KEY NOT NULL,
	"parent_id" uuid NOT NULL,
	"quantity" numeric(24, 8) NOT NULL,
	"from_quantity" numeric(24, 8) NOT NULL,
	"to_quantity" numeric(24, 8) NOT NULL,
	"status" text DEFAULT 'REQUESTED' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "pooled_parent_reductions" ADD CONSTRAINT "pooled_parent_reductions_child_order_id_orders_id_fk" FOREIGN KEY ("child_order_id") REFERENCES "public"."orders"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pooled_parent_reductions" ADD CONSTRAINT "pooled_parent_reductions_parent_id_pooled_parent_orders_id_fk" FOREIGN KEY ("parent_id") REFERENCES "public"."pooled_parent_orders"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "pooled_parent_reductions_parent_idx" ON "pooled_parent_reductions" USING btree ("parent_id","status");