CREATE TABLE "outbox_pending" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"event_ids" bigint[] NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
