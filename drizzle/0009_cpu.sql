ALTER TABLE "outbox_events" DROP CONSTRAINT "outbox_events_portfolio_id_portfolios_id_fk";
