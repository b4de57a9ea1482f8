import { and, eq, isNull, sql, type SQL } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { jsonRows, rowsOf, unnestRows } from '../db/batch-sql.js';
import { holds, ledgerEntries, portfolios } from '../db/schema/index.js';
import { dec, toDb, type Decimal } from '../lib/decimal.js';

export type LedgerKind = (typeof ledgerEntries.$inferInsert)['kind'];

export interface LedgerLine {
  kind: LedgerKind;
  /** Signed: positive credits cash. */
  amount: Decimal;
  orderId?: string | null;
  fillId?: string | null;
  description?: string;
}

/** A ledger line as stored, of any portfolio: what {@link ledgerCtes} writes. */
export interface LedgerRow {
  portfolioId: string;
  kind: LedgerKind;
  /** Signed, exact, as stored (a decimal string): positive credits cash. */
  amount: string;
  currency: string;
  orderId: string | null;
  fillId: string | null;
  description: string | null;
}

/**
 * A portfolio row the posting's statement moves: its cash by the sum of its lines, and its event sequence
 * by `events`, the events the caller's transaction appends for it (numbered from the sequence it read
 * under the portfolio's lock). One statement may update a row only once, so both go in the same update.
 */
export interface BookMove {
  portfolioId: string;
  events: number;
}

/**
 * The ONE writer of cash and the ledger. Every path that moves cash (deposits and withdrawals, an
 * imported activity, a fill applied alone, the order loop's batched acknowledgements, the pooled
 * close's allocations) posts through here, so the rule "cash is the sum of the ledger" lives once.
 *
 * Two data-modifying CTEs for the start of the caller's `with`, in the caller's transaction (which must
 * hold the portfolios' locks): `ledger_lines` inserts `lines`, in order; `ledger_books` moves each
 * portfolio of `books` by the sum of ITS lines as inserted (Postgres adds the stored amounts, so cash
 * equals the ledger's sum by construction, not by a caller's arithmetic) and its event sequence by its
 * `events`, and returns `id` and `cash`. A portfolio with a line must be in `books`.
 *
 * `rows`: how the rows travel (db/batch-sql.ts): one jsonb parameter (a few dozen rows, the order loop)
 * or one array per column (hundreds to thousands, the pooled close).
 */
export function ledgerCtes(lines: readonly LedgerRow[], books: readonly BookMove[], now: Date, rows: 'jsonb' | 'arrays' = 'jsonb'): SQL {
  const moved = new Set(books.map((b) => b.portfolioId));
  const orphan = lines.find((l) => !moved.has(l.portfolioId));
  if (orphan) throw new Error(`a ledger line of portfolio ${orphan.portfolioId} whose cash the posting does not move`);
  const iso = now.toISOString();
  const lineSource =
    rows === 'arrays'
      ? unnestRows(lines, {
          pid: ['uuid', (l) => l.portfolioId],
          kind: ['ledger_kind', (l) => l.kind],
          amount: ['numeric', (l) => l.amount],
          ccy: ['text', (l) => l.currency],
          oid: ['uuid', (l) => l.orderId],
          fid: ['uuid', (l) => l.fillId],
          d: ['text', (l) => l.description],
        })
      : sql`jsonb_to_recordset(${jsonRows(lines.map((l, i) => ({ i, pid: l.portfolioId, kind: l.kind, amount: l.amount, ccy: l.currency, oid: l.orderId, fid: l.fillId, d: l.description })))})
          as v(i int, pid uuid, kind ledger_kind, amount numeric, ccy text, oid uuid, fid uuid, d text)`;
  const bookSource =
    rows === 'arrays'
      ? unnestRows(books, { id: ['uuid', (b) => b.portfolioId], n: ['bigint', (b) => b.events] }, 'b')
      : sql`jsonb_to_recordset(${jsonRows(books.map((b) => ({ id: b.portfolioId, n: b.events })))}) as b(id uuid, n bigint)`;
  return sql`ledger_lines as (
      insert into ledger_entries (portfolio_id, kind, amount, currency, order_id, fill_id, description, created_at)
      select v.pid, v.kind, v.amount, v.ccy, v.oid, v.fid, v.d, ${iso}::timestamptz
      from ${lineSource}
      order by v.i
      returning portfolio_id, amount),
    ledger_books as (
      update portfolios as p set cash = p.cash + coalesce(s.total, 0), event_sequence = p.event_sequence + b.n
      from ${bookSource}
        left join (select portfolio_id, sum(amount) as total from ledger_lines group by portfolio_id) as s on s.portfolio_id = b.id
      where p.id = b.id
      returning p.id, p.cash::text as cash)`;
}

/** {@link ledgerCtes} as a statement of its own: each moved portfolio's cash after. */
export async function postLedgerMany(
  tx: DbOrTx,
  lines: readonly LedgerRow[],
  books: readonly BookMove[],
  now: Date,
  rows: 'jsonb' | 'arrays' = 'jsonb',
): Promise<Map<string, Decimal>> {
  const after = rowsOf<{ id: string; cash: string }>(await tx.execute(sql`with ${ledgerCtes(lines, books, now, rows)} select id, cash from ledger_books`));
  return new Map(after.map((r) => [r.id, dec(r.cash)]));
}

/**
 * Post one portfolio's ledger lines and move its cash by their sum ({@link ledgerCtes}), in the caller's
 * transaction (which must hold the portfolio lock). Lines of zero are left out. Returns the cash after
 * (zero when there was nothing to post).
 */
export async function postLedger(tx: DbOrTx, portfolioId: string, currency: string, lines: LedgerLine[], now: Date): Promise<Decimal> {
  const nonZero = lines.filter((l) => !l.amount.isZero());
  if (nonZero.length === 0) return dec(0);
  const rows = nonZero.map((l) => ({
    portfolioId,
    kind: l.kind,
    amount: toDb(l.amount),
    currency,
    orderId: l.orderId ?? null,
    fillId: l.fillId ?? null,
    description: l.description ?? null,
  }));
  const cash = (await postLedgerMany(tx, rows, [{ portfolioId, events: 0 }], now)).get(portfolioId);
  if (!cash) throw new Error(`portfolio ${portfolioId} does not exist`);
  return cash;
}

/** Cash reserved by open buy orders. */
export async function heldCash(tx: DbOrTx, portfolioId: string): Promise<Decimal> {
  const [r] = await tx
    .select({ total: sql<string>`coalesce(sum(${holds.amount}), 0)` })
    .from(holds)
    .where(and(eq(holds.portfolioId, portfolioId), eq(holds.kind, 'CASH'), isNull(holds.releasedAt)));
  return dec(r.total);
}

/** Quantity of one instrument reserved by open sell orders. */
export async function heldQuantity(tx: DbOrTx, portfolioId: string, instrumentId: string): Promise<Decimal> {
  const [r] = await tx
    .select({ total: sql<string>`coalesce(sum(${holds.amount}), 0)` })
    .from(holds)
    .where(and(eq(holds.portfolioId, portfolioId), eq(holds.kind, 'QUANTITY'), eq(holds.instrumentId, instrumentId), isNull(holds.releasedAt)));
  return dec(r.total);
}

export interface Balances {
  cash: Decimal;
  held: Decimal;
  available: Decimal;
}

export async function balances(tx: DbOrTx, portfolioId: string, cash?: Decimal): Promise<Balances> {
  let c = cash;
  if (!c) {
    const [p] = await tx.select({ cash: portfolios.cash }).from(portfolios).where(eq(portfolios.id, portfolioId));
    c = dec(p?.cash ?? 0);
  }
  const held = await heldCash(tx, portfolioId);
  return { cash: c, held, available: c.sub(held) };
}

/** Reduce an open hold by `amount` (never below zero); release it when it reaches zero or `final`. */
export async function reduceHold(tx: DbOrTx, orderId: string, amount: Decimal | 'all', now: Date): Promise<void> {
  const [h] = await tx.select().from(holds).where(and(eq(holds.orderId, orderId), isNull(holds.releasedAt)));
  if (!h) return;
  const left = amount === 'all' ? dec(0) : Decimal0Max(dec(h.amount).sub(amount));
  await tx
    .update(holds)
    .set({ amount: toDb(left), releasedAt: left.isZero() ? now : null, updatedAt: now })
    .where(eq(holds.id, h.id));
}

function Decimal0Max(d: Decimal): Decimal {
  return d.isNegative() ? dec(0) : d;
}
