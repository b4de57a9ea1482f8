ALTER TABLE "orders" ADD COLUMN "protection_price" numeric(24, 8);--> statement-breakpoint
ALTER TABLE "paper_orders" ADD COLUMN "protection_price" numeric(24, 8);