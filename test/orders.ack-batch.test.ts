/**
 * Batched acknowledgements (issue 7): the submit jobs a worker runs at once record their orders'
 * acknowledgements and the paper exchange's immediate fills in ONE transaction with set-based
 * statements. Each order must end exactly as acknowledging it alone (FillApplier.acknowledge) leaves
 * it: order, position, ledger, holds, cash, and the same events with gap-free sequences; a replayed
 * fill is applied once; an order no longer SUBMITTING gets nothing written.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { sql } from 'drizzle-orm';
import type { BrokerFill } from '../src/brokers/broker.js';
import { acknowledgeManyInTx, AckBatcher, type AckItem } from '../src/services/orders/ack-batch.js';
import { FillApplier } from '../src/services/orders/fill-applier.js';
import { markSubmittingInTx } from '../src/services/orders/submit-batch.js';
import type { OrderRow } from '../src/services/orders/order.snapshot.js';
import type { PlaceOrderRequest } from '../src/services/orders/order.validation.js';
import { silentLogger } from '../src/lib/logger.js';
import { createLedgerHarness, sqlRows, type LedgerHarness } from './support/ledger-harness.js';
import { modes } from './support/env.js';
import { createTestDatabase } from './support/server.js';

let h: LedgerHarness;

const buy = (portfolioId: string, symbol: string, quantity: string, clientOrderId: string): PlaceOrderRequest => ({
  portfolioId,
  symbol,
  side: 'BUY',
  type: 'LIMIT',
  quantity,
  limitPrice: symbol === 'RELIANCE' ? '400.00' : '1500.00',
  clientOrderId,
});

const fill = (o: OrderRow, id: string, quantity: string, price: string, fee = '0.50'): BrokerFill => ({
  brokerFillId: id,
  brokerOrderId: `B-${o.clientOrderId}`,
  clientOrderId: o.id,
  quantity,
  price,
  fee,
  executedAt: new Date(0).toISOString(),
});

/** Orders placed and moved to SUBMITTING, in placement order. */
async function submitting(portfolioId: string, viewer: Awaited<ReturnType<LedgerHarness['newAccount']>>['viewer'], reqs: PlaceOrderRequest[]): Promise<OrderRow[]> {
  const placed: OrderRow[] = [];
  for (const r of reqs) placed.push(await h.orders.place(viewer, r));
  const { moved } = await h.db.transaction((tx) => markSubmittingInTx(tx, placed.map((o) => o.id), placed.map((o) => o.portfolioId), h.clock.now()));
  return placed.map((o) => moved.get(o.id)!);
}

/** The books of a portfolio without its ids, so two portfolios given the same orders compare equal. */
async function books(portfolioId: string) {
  const [r] = await sqlRows(
    h.db,
    sql`select
          (select cash::text from portfolios where id = ${portfolioId}) as cash,
          (select event_sequence::int from portfolios where id = ${portfolioId}) as seq,
          (select json_agg(json_build_object('kind', kind, 'amount', amount::text) order by id) from ledger_entries where portfolio_id = ${portfolioId}) as ledger,
          (select json_agg(json_build_object('o', o.client_order_id, 'amount', h.amount::text, 'released', h.released_at is not null) order by o.client_order_id)
             from holds h join orders o on o.id = h.order_id where h.portfolio_id = ${portfolioId}) as holds,
          (select json_agg(json_build_object('o', client_order_id, 'status', status, 'filled', filled_quantity::text, 'avg', average_fill_price::text, 'fees', fees_paid::text, 'b', broker_order_id) order by client_order_id)
             from orders where portfolio_id = ${portfolioId}) as orders,
          (select json_agg(json_build_object('i', instrument_id, 'q', quantity::text, 'avg', average_cost::text, 'pnl', realized_pnl::text) order by instrument_id)
             from positions where portfolio_id = ${portfolioId}) as positions,
          (select json_agg(json_build_object('s', sequence, 't', type, 'cash', payload->>'cash', 'avail', payload->>'availableCash', 'status', payload->'order'->>'status') order by sequence)
             from outbox_events where portfolio_id = ${portfolioId}) as events`,
  );
  return r;
}

describe.each(modes())('acknowledging many orders in one transaction, %s', (mode) => {
  let dropDb: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const pg = mode === 'scaled' ? await createTestDatabase() : undefined;
    dropDb = pg?.drop;
    h = await createLedgerHarness({ databaseUrl: pg?.url });
    h.quotes.set('RELIANCE', 'NSE', '399.95', '400.00');
    h.quotes.set('TCS', 'NSE', '1499.00', '1500.00');
  });
  afterAll(async () => {
    await h?.close();
    await dropDb?.();
  });

  /** Three orders in one portfolio (two on one instrument), one filled in two parts, one partly, one not at all. */
  async function scenario(tag: string) {
    const a = await h.newAccount();
    await h.portfolios.deposit(a.viewer, a.portfolioId, '100000.00');
    const [o1, o2, o3] = await submitting(a.portfolioId, a.viewer, [
      buy(a.portfolioId, 'RELIANCE', '10', `${tag}-1`),
      buy(a.portfolioId, 'RELIANCE', '5', `${tag}-2`),
      buy(a.portfolioId, 'TCS', '4', `${tag}-3`),
    ]);
    const items: AckItem[] = [
      { seen: o1, brokerOrderId: `B-${o1.clientOrderId}`, executions: [fill(o1, 'f1', '6', '399.50'), fill(o1, 'f2', '4', '399.75')] },
      { seen: o2, brokerOrderId: `B-${o2.clientOrderId}`, executions: [fill(o2, 'f1', '2', '399.90', '0.10')] },
      { seen: o3, brokerOrderId: `B-${o3.clientOrderId}`, executions: [] },
    ];
    return { ...a, orders: [o1, o2, o3], items };
  }

  it('leaves every order, position, hold, ledger line and event exactly as acknowledging each alone does', async () => {
    const batched = await scenario('x');
    const alone = await scenario('x');
    const res = await h.db.transaction((tx) => acknowledgeManyInTx(tx, batched.items, h.clock.now()));
    expect(res.orders.map((o) => o?.status)).toEqual(['FILLED', 'PARTIALLY_FILLED', 'OPEN']);
    expect(res.fills).toBe(3);
    const single = new FillApplier({ db: h.db, clock: h.clock, relay: h.relay });
    for (const it of alone.items) await single.acknowledge(it.seen, it.brokerOrderId, [...it.executions]);

    const b = await books(batched.portfolioId);
    expect(b).toEqual(await books(alone.portfolioId));
    // deposit, 3 placements × 2, 3 submissions, then ack + 4 per fill for o1 (2 fills), o2 (1), ack of o3.
    expect((b.events as unknown[]).length).toBe(1 + 6 + 3 + 9 + 5 + 1);
    expect((b.events as { s: number }[]).map((e) => e.s)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    expect(res.events.map((e) => e.message.sequence)).toEqual(Array.from({ length: 15 }, (_, i) => i + 11));
    expect(b.cash).not.toBe('100000.00');
  });

  it('writes nothing for an order no longer SUBMITTING and applies a fill repeated in the batch once', async () => {
    const s = await scenario('y');
    await h.db.execute(sql`update orders set status = 'CANCEL_REQUESTED' where id = ${s.orders[1].id}`);
    const twice = s.items[0].executions[0];
    s.items[0].executions.push({ ...twice });
    const before = await books(s.portfolioId);
    const res = await h.db.transaction((tx) => acknowledgeManyInTx(tx, [...s.items, { ...s.items[0], executions: [] }], h.clock.now()));
    expect(res.orders.map((o) => o?.status ?? null)).toEqual(['FILLED', null, 'OPEN', null]);
    expect(res.fills).toBe(2);
    const after = await books(s.portfolioId);
    const o2 = (after.orders as { o: string; status: string; filled: string }[]).find((o) => o.o === 'y-2')!;
    expect(o2.status).toBe('CANCEL_REQUESTED');
    expect(Number(o2.filled)).toBe(0);
    const [n] = await sqlRows<{ fills: number }>(h.db, sql`select count(*)::int as fills from fills where portfolio_id = ${s.portfolioId}`);
    expect(n.fills).toBe(2);
    expect((after.seq as number) - (before.seq as number)).toBe(1 + 8 + 1);

    // Replayed as a whole (a retried job): nothing more is written.
    const again = await h.db.transaction((tx) => acknowledgeManyInTx(tx, s.items, h.clock.now()));
    expect(again.orders.every((o) => o === null)).toBe(true);
    expect(await books(s.portfolioId)).toEqual(after);
  });

  it('groups concurrent acknowledgements, publishes their events, and leaves no execution to enqueue', async () => {
    const s = await scenario('z');
    const acks = new AckBatcher({ db: h.db, clock: h.clock, relay: h.relay, logger: silentLogger, single: new FillApplier({ db: h.db, clock: h.clock, relay: h.relay }) });
    const seen: number[] = [];
    h.relay.onPublish((m) => {
      if (m.portfolioId === s.portfolioId) seen.push(m.sequence);
    });
    const moved = await Promise.all(s.items.map((it) => acks.acknowledge(it.seen, it.brokerOrderId, it.executions)));
    expect(moved.map((o) => o?.status)).toEqual(['FILLED', 'PARTIALLY_FILLED', 'OPEN']);
    expect(s.items.every((it) => it.executions.length === 0)).toBe(true);
    // Published after the commit, off the batch's slot: they arrive, in sequence.
    await vi.waitFor(() => expect(seen).toEqual(Array.from({ length: 15 }, (_, i) => i + 11)));
  });
});
