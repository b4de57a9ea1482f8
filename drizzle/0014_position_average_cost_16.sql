ALTER TABLE "positions" ALTER COLUMN "average_cost" SET DATA TYPE numeric(40, 16);--> statement-breakpoint
ALTER TABLE "positions" ALTER COLUMN "average_cost" SET DEFAULT '0';