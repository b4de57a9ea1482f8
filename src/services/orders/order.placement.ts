import { randomUUID } from 'node:crypto';
import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { Tx } from '../../db/client.js';
import { holds, positions } from '../../db/schema/index.js';
import { genericPlans, jsonRows, lazyMap, uuidArray } from '../../db/batch-sql.js';
import { heldCashOf, orderRows, selectOrders, selectPortfolios } from './batch-reads.js';
import { NotFoundError } from '../../errors.js';
import { dec, fmt, toDb, type Decimal, fmtAvailable } from '../../lib/decimal.js';
import { insertOutboxRows, outboxRows, storedEvents, type NewEvent, type StoredEvent } from '../../events/outbox.js';
import { checkBuyingPower, checkSellable } from './order.risk.js';
import type { ValidOrder } from './order.validation.js';
import { orderSnapshot, type OrderRow } from './order.snapshot.js';
import type { AuditPort } from '../people/audit.service.js';

/**
 * The building blocks of placing orders, usable inside a caller's transaction: an order that passed
 * validation and pre-trade checks outside the transaction (see OrderService.prepare), and
 * {@link placeOrdersInTx}, which records many of them at once. The group commit of OrderService uses
 * it for orders arriving together; a basket run uses it for its N orders in its own transaction.
 */
export interface PreparedOrder {
  userId: string;
  portfolioId: string;
  instrumentId: string;
  clientOrderId: string;
  valid: ValidOrder;
  /** Cash (buy: notional at the reservation price plus the fee bound) or quantity (sell) to hold. */
  reserve: Decimal;
  requestHash: string;
  /** Market protection (market-protection.ts): the price a market or stop buy may never fill beyond. */
  protectionPrice?: Decimal | null;
  /**
   * The `order.placed` audit entry of this order (its data without the stored quantity, added from the
   * order row), written in the placement's own transaction when {@link placeOrdersInTx} gets an audit port.
   */
  audit?: { actorId: string; data: Record<string, unknown> };
  /** The clientOrderId was generated here (the caller sent none): it cannot repeat, so it is not looked up. */
  generatedClientOrderId?: boolean;
}

export type PlacementResult =
  | { kind: 'placed'; order: OrderRow; events: StoredEvent[] }
  /** A domain error of this order alone (insufficient funds or quantity, portfolio gone). */
  | { kind: 'refused'; error: Error }
  /**
   * Its (userId, clientOrderId) already exists (`order`: that order, when this transaction found it before
   * writing), or repeats an earlier input: answer it as a replay.
   */
  | { kind: 'duplicate'; order?: OrderRow };

/** An input's clientOrderId was taken by a concurrent transaction; retry the inputs one by one. */
export class PlacementConflictError extends Error {
  constructor() {
    super('a client order id was taken concurrently');
    this.name = 'PlacementConflictError';
  }
}

/**
 * Record `inputs` in the caller's transaction, with their portfolios locked (in id order, so concurrent
 * batches cannot deadlock) and the risk rules checked against the balances as each earlier input of the
 * same portfolio left them: the order rows, their holds, the portfolios' event sequences and the outbox
 * rows, each ONE multi-row statement. Results are in input order; a refused input writes nothing. If a
 * concurrent transaction inserted one of the client order ids meanwhile, throws PlacementConflictError
 * (the caller's transaction must roll back), as the other inputs' checks counted that order's hold.
 */
export async function placeOrdersInTx(tx: Tx, inputs: PreparedOrder[], now: Date, audit?: AuditPort): Promise<PlacementResult[]> {
  const results: PlacementResult[] = inputs.map(() => ({ kind: 'duplicate' }) as PlacementResult);
  if (inputs.length === 0) return results;
  const pids = [...new Set(inputs.map((i) => i.portfolioId))].sort();
  const sells = inputs.filter((i) => i.valid.side === 'SELL');
  const sellInstruments = [...new Set(sells.map((i) => i.instrumentId))];
  // One round trip: lock the portfolios, read what their open holds and positions are, and find the
  // orders that already hold an input's (userId, clientOrderId): those inputs are replays, decided before
  // any risk check (as OrderService.place promises), and cost one statement per batch, not one per order.
  const keys = inputs.filter((i) => !i.generatedClientOrderId).map((i) => ({ u: i.userId, c: i.clientOrderId }));
  // Keyed plans (batch-sql.ts genericPlans): for the rest of the caller's transaction.
  const [, locked, heldCash, heldQty, held, earlier] = await Promise.all([
    tx.execute(genericPlans),
    selectPortfolios(tx, sql`where id = any(${uuidArray(pids)}) order by id for no key update`),
    heldCashOf(tx, pids),
    sells.length
      ? tx
          .select({ portfolioId: holds.portfolioId, instrumentId: holds.instrumentId, total: sql<string>`coalesce(sum(${holds.amount}), 0)` })
          .from(holds)
          .where(and(inArray(holds.portfolioId, pids), eq(holds.kind, 'QUANTITY'), inArray(holds.instrumentId, sellInstruments), isNull(holds.releasedAt)))
          .groupBy(holds.portfolioId, holds.instrumentId)
      : Promise.resolve([]),
    sells.length
      ? tx
          .select({ portfolioId: positions.portfolioId, instrumentId: positions.instrumentId, quantity: positions.quantity })
          .from(positions)
          .where(and(inArray(positions.portfolioId, pids), inArray(positions.instrumentId, sellInstruments)))
      : Promise.resolve([]),
    keys.length ? selectOrders(tx, sql`where (user_id, client_order_id) in (select v.u, v.c from jsonb_to_recordset(${jsonRows(keys)}) as v(u uuid, c text))`) : Promise.resolve([]),
  ]);
  const existing = new Map(earlier.map((o) => [`${o.userId}/${o.clientOrderId}`, o]));
  const byId = new Map(locked.map((p) => [p.id, p]));
  const available = new Map(locked.map((p) => [p.id, dec(p.cash)]));
  for (const h of heldCash) available.set(h.portfolioId, available.get(h.portfolioId)!.sub(h.total));
  const key = (pid: string, iid: string | null) => `${pid}/${iid}`;
  const promised = new Map(heldQty.map((h) => [key(h.portfolioId, h.instrumentId), dec(h.total)]));
  const owned = new Map(held.map((p) => [key(p.portfolioId, p.instrumentId), dec(p.quantity)]));

  // Risk in input order, each seeing the holds of the inputs before it.
  const accepted: { index: number; id: string; input: PreparedOrder; events: NewEvent[] }[] = [];
  const seen = new Set<string>();
  inputs.forEach((input, index) => {
    const idem = `${input.userId}/${input.clientOrderId}`;
    if (seen.has(idem)) return; // a repeat within the batch: a replay of the first
    seen.add(idem);
    const first = existing.get(idem);
    if (first) {
      results[index] = { kind: 'duplicate', order: first };
      return;
    }
    const p = byId.get(input.portfolioId);
    if (!p) {
      results[index] = { kind: 'refused', error: new NotFoundError('Portfolio', input.portfolioId) };
      return;
    }
    const events: NewEvent[] = [];
    try {
      if (input.valid.side === 'BUY') {
        const before = available.get(p.id)!;
        checkBuyingPower(before, input.reserve);
        available.set(p.id, before.sub(input.reserve));
        events.push({ type: 'BALANCE_CHANGED', payload: { cash: fmt(dec(p.cash), 2), availableCash: fmtAvailable(before.sub(input.reserve)), reason: 'ORDER_HOLD' } });
      } else {
        const k = key(p.id, input.instrumentId);
        checkSellable(owned.get(k) ?? dec(0), promised.get(k) ?? dec(0), input.reserve);
        promised.set(k, (promised.get(k) ?? dec(0)).add(input.reserve));
      }
    } catch (error) {
      results[index] = { kind: 'refused', error: error as Error };
      return;
    }
    accepted.push({ index, id: randomUUID(), input, events });
  });
  if (accepted.length === 0) return results;

  // Second round trip: the orders. A client order id taken meanwhile is skipped here, not an error.
  // With them, when entries are to be audited: the audit chain's lock and last hash (taken late, so the
  // chain is held for this transaction's last round trip and commit only).
  const chain = audit?.inTx && accepted.some((a) => a.input.audit) ? audit.inTx(tx) : null;
  // One jsonb parameter whatever the batch size (drizzle's multi-row `values` built and bound ~25
  // parameters per order: about a tenth of the api's CPU per order in bench:orders).
  const values = accepted.map(({ id, input }) => ({
    id,
    u: input.userId,
    p: input.portfolioId,
    i: input.instrumentId,
    c: input.clientOrderId,
    side: input.valid.side,
    type: input.valid.type,
    tif: input.valid.timeInForce,
    q: toDb(input.valid.quantity),
    lp: input.valid.limitPrice ? toDb(input.valid.limitPrice) : null,
    sp: input.valid.stopPrice ? toDb(input.valid.stopPrice) : null,
    pp: input.protectionPrice ? toDb(input.protectionPrice) : null,
    b: byId.get(input.portfolioId)!.broker,
    h: input.requestHash,
  }));
  const iso = now.toISOString();
  const insertOrders = lazyMap(
    tx.execute(
      sql`insert into orders (id, user_id, portfolio_id, instrument_id, client_order_id, side, type, time_in_force, quantity, limit_price, stop_price,
          protection_price, status, broker, request_hash, created_at, updated_at)
        select v.id, v.u, v.p, v.i, v.c, v.side, v.type, v.tif, v.q, v.lp, v.sp, v.pp, 'PENDING', v.b, v.h, ${iso}::timestamptz, ${iso}::timestamptz
        from jsonb_to_recordset(${jsonRows(values)})
          as v(id uuid, u uuid, p uuid, i uuid, c text, side order_side, type order_type, tif time_in_force, q numeric, lp numeric, sp numeric, pp numeric, b text, h text)
        on conflict (user_id, client_order_id) do nothing
        returning ${orderRows.list}`,
    ),
    orderRows.map,
  );
  const [rows] = await Promise.all([insertOrders, chain?.ready]);
  if (rows.length !== accepted.length) throw new PlacementConflictError();
  const orderById = new Map(rows.map((r) => [r.id, r]));

  // Third round trip: holds, event sequences and outbox rows, numbered per portfolio in input order.
  const nextSeq = new Map(locked.map((p) => [p.id, p.eventSequence]));
  const outbox: ReturnType<typeof outboxRows> = [];
  const numbered = accepted.map((a) => {
    const order = orderById.get(a.id)!;
    const events: NewEvent[] = [{ type: 'ORDER_UPDATED', payload: { order: orderSnapshot(order) } }, ...a.events];
    const first = nextSeq.get(order.portfolioId)! + 1;
    nextSeq.set(order.portfolioId, first + events.length - 1);
    outbox.push(...outboxRows(order.portfolioId, first, events, now));
    return { ...a, order, events, first };
  });
  const seqValues = pids.filter((pid) => nextSeq.get(pid) !== byId.get(pid)?.eventSequence).map((pid) => ({ id: pid, seq: nextSeq.get(pid) }));
  const holdValues = numbered.map(({ order, input }) => ({
    pid: order.portfolioId,
    oid: order.id,
    kind: input.valid.side === 'BUY' ? 'CASH' : 'QUANTITY',
    iid: input.valid.side === 'SELL' ? input.instrumentId : null,
    amount: toDb(input.reserve),
  }));
  const audited = numbered.flatMap(({ input, order }) =>
    input.audit ? [{ actorId: input.audit.actorId, action: 'order.placed', subjectId: order.id, data: { ...input.audit.data, quantity: order.quantity } }] : [],
  );
  // The audit chain's last hash came with the orders (second round trip): its entries are ready to write.
  const auditInsert = chain ? await chain.insertSql(audited, now) : null;
  // Statement texts that do not change with the batch size (rows as one jsonb parameter: db/batch-sql.ts);
  // the holds, the event sequences and the audit entries in one statement.
  const [stored] = await Promise.all([
    insertOutboxRows(tx, outbox, now),
    tx.execute(sql`with seq as (
        update portfolios as p set event_sequence = s.seq from jsonb_to_recordset(${jsonRows(seqValues)}) as s(id uuid, seq bigint) where p.id = s.id
      )${auditInsert ? sql`, audit as (${auditInsert})` : sql``}
      insert into holds (portfolio_id, order_id, kind, instrument_id, amount, created_at, updated_at)
      select v.pid, v.oid, v.kind::hold_kind, v.iid, v.amount, ${iso}::timestamptz, ${iso}::timestamptz
      from jsonb_to_recordset(${jsonRows(holdValues)}) as v(pid uuid, oid uuid, kind text, iid uuid, amount numeric)`),
  ]);
  const storedAt = new Map(stored.map((r) => [`${r.portfolioId}/${r.sequence}`, r]));
  for (const n of numbered) {
    const rowsOfOrder = n.events.map((_, i) => storedAt.get(`${n.order.portfolioId}/${n.first + i}`)!);
    results[n.index] = { kind: 'placed', order: n.order, events: storedEvents(n.order.portfolioId, rowsOfOrder, n.events, now) };
  }
  return results;
}
