import { and, eq, isNull, sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
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

/**
 * Post ledger lines and move the portfolio's cash by their sum, in the caller's transaction (which must
 * hold the portfolio lock). Cash therefore always equals the sum of the ledger.
 */
export async function postLedger(tx: DbOrTx, portfolioId: string, currency: string, lines: LedgerLine[], now: Date): Promise<Decimal> {
  const nonZero = lines.filter((l) => !l.amount.isZero());
  if (nonZero.length === 0) return dec(0);
  await tx.insert(ledgerEntries).values(
    nonZero.map((l) => ({
      portfolioId,
      kind: l.kind,
      amount: toDb(l.amount),
      currency,
      orderId: l.orderId ?? null,
      fillId: l.fillId ?? null,
      description: l.description ?? null,
      createdAt: now,
    })),
  );
  const total = nonZero.reduce((acc, l) => acc.add(l.amount), dec(0));
  const [row] = await tx
    .update(portfolios)
    .set({ cash: sql`${portfolios.cash} + ${toDb(total)}::numeric` })
    .where(eq(portfolios.id, portfolioId))
    .returning({ cash: portfolios.cash });
  return dec(row.cash);
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
