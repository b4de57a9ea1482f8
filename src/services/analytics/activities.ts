/**
 * Activities imported from another tracker: pure validation, fingerprints and their cash effects.
 * Lines are 1-based positions in the submitted list. Conventions (API.md): `amount` is positive for
 * DEPOSIT, WITHDRAWAL, DIVIDEND and FEE; a BUY costs quantity × price + fee; a SELL yields
 * quantity × price − fee.
 */
import { createHash } from 'node:crypto';
import { DomainError, ErrorCode } from '../../errors.js';
import { Decimal, ZERO, dec } from '../../lib/decimal.js';
import type { LedgerLine } from '../ledger.js';
import { AVERAGE_COST_PLACES } from '../../db/schema/common.js';
import { dayOf, type Day } from './valuation.js';

export const ACTIVITY_TYPES = ['DEPOSIT', 'WITHDRAWAL', 'BUY', 'SELL', 'DIVIDEND', 'FEE'] as const;
export type ActivityType = (typeof ACTIVITY_TYPES)[number];

/** BAD_USER_INPUT for one line of an import: `field`, `reason` and the 1-based `line`. */
export class ActivityInputError extends DomainError {
  constructor(line: number, field: string, reason: string, message: string, extra: Record<string, unknown> = {}) {
    super(ErrorCode.BAD_USER_INPUT, `line ${line}: ${message}`, { field, reason, line, ...extra });
  }
}

export interface ActivityInputLike {
  date: Date;
  type: string;
  symbol?: string | null;
  exchange?: string | null;
  quantity?: string | null;
  price?: string | null;
  amount?: string | null;
  fee?: string | null;
}

export interface ParsedActivity {
  line: number;
  at: Date;
  day: Day;
  type: ActivityType;
  symbol: string | null;
  exchange: string | null;
  quantity: Decimal | null;
  price: Decimal | null;
  amount: Decimal | null;
  fee: Decimal;
  fingerprint: string;
}

const MAX_AMOUNT = dec('1000000000000');

function positive(line: number, field: string, raw: string | null | undefined, reason: string, required: boolean, allowZero = false): Decimal | null {
  if (raw === null || raw === undefined) {
    if (required) throw new ActivityInputError(line, field, `MISSING_${field.toUpperCase()}`, `${field} is required`);
    return null;
  }
  const v = dec(raw);
  if (v.isNegative() || (!allowZero && v.isZero())) throw new ActivityInputError(line, field, reason, `${field} must be ${allowZero ? 'zero or more' : 'greater than zero'}`);
  if (v.gt(MAX_AMOUNT)) throw new ActivityInputError(line, field, reason, `${field} is too large`);
  if (v.decimalPlaces() > 8) throw new ActivityInputError(line, field, reason, `${field} has more than 8 decimal places`);
  return v;
}

/** Validate every line (the first bad line is thrown) and fingerprint it; duplicates within a list stay distinct. */
export function parseActivities(list: readonly ActivityInputLike[], now: Date): ParsedActivity[] {
  const today = dayOf(now);
  const seen = new Map<string, number>();
  return list.map((a, i) => {
    const line = i + 1;
    if (!(a.date instanceof Date) || Number.isNaN(a.date.getTime())) throw new ActivityInputError(line, 'date', 'INVALID_DATE', 'date is not a valid date');
    const day = dayOf(a.date);
    if (day > today) throw new ActivityInputError(line, 'date', 'IN_FUTURE', 'date is in the future');
    if (!(ACTIVITY_TYPES as readonly string[]).includes(a.type)) throw new ActivityInputError(line, 'type', 'INVALID_TYPE', `type must be one of ${ACTIVITY_TYPES.join(', ')}`);
    const type = a.type as ActivityType;
    const symbol = a.symbol?.trim().toUpperCase() || null;
    const exchange = a.exchange?.trim().toUpperCase() || null;
    const trade = type === 'BUY' || type === 'SELL';
    const quantity = trade ? positive(line, 'quantity', a.quantity, 'INVALID_QUANTITY', true) : null;
    const price = trade ? positive(line, 'price', a.price, 'INVALID_PRICE', true) : null;
    const amount = trade ? null : positive(line, 'amount', a.amount, 'INVALID_AMOUNT', true);
    const fee = positive(line, 'fee', a.fee, 'INVALID_FEE', false, true) ?? ZERO;
    if (trade && !symbol) throw new ActivityInputError(line, 'symbol', 'MISSING_SYMBOL', `symbol is required for ${type}`);
    const key = JSON.stringify([a.date.toISOString(), type, symbol, exchange, quantity?.toFixed(), price?.toFixed(), amount?.toFixed(), fee.toFixed()]);
    const n = (seen.get(key) ?? 0) + 1;
    seen.set(key, n);
    const fingerprint = createHash('sha256').update(`${key}#${n}`).digest('hex');
    return { line, at: a.date, day, type, symbol, exchange, quantity, price, amount, fee, fingerprint };
  });
}

/** The ledger lines an activity posts (cash = the ledger's sum). */
export function cashLines(a: ParsedActivity): LedgerLine[] {
  const desc = `imported ${a.type.toLowerCase()}${a.symbol ? ` ${a.symbol}` : ''}`;
  const fee = a.fee.isZero() ? [] : [{ kind: 'FEE' as const, amount: a.fee.neg(), description: `${desc} fee` }];
  switch (a.type) {
    case 'DEPOSIT':
      return [{ kind: 'DEPOSIT', amount: a.amount!, description: desc }, ...fee];
    case 'WITHDRAWAL':
      return [{ kind: 'WITHDRAWAL', amount: a.amount!.neg(), description: desc }, ...fee];
    case 'BUY':
      return [{ kind: 'TRADE', amount: a.quantity!.mul(a.price!).neg(), description: desc }, ...fee];
    case 'SELL':
      return [{ kind: 'TRADE', amount: a.quantity!.mul(a.price!), description: desc }, ...fee];
    case 'DIVIDEND':
      return [{ kind: 'ADJUSTMENT', amount: a.amount!, description: desc }, ...fee];
    case 'FEE':
      return [{ kind: 'FEE', amount: a.amount!.neg(), description: desc }];
  }
}

/** A position after one trade: average cost on buys, realised P&L on sells (as fills do). */
export function applyTrade(pos: { quantity: Decimal; averageCost: Decimal; realizedPnl: Decimal }, side: 'BUY' | 'SELL', qty: Decimal, price: Decimal) {
  if (side === 'BUY') {
    const q1 = pos.quantity.add(qty);
    return { quantity: q1, averageCost: pos.quantity.mul(pos.averageCost).add(qty.mul(price)).div(q1).toDecimalPlaces(AVERAGE_COST_PLACES), realizedPnl: pos.realizedPnl };
  }
  const q1 = pos.quantity.sub(qty);
  return { quantity: q1, averageCost: q1.isZero() ? ZERO : pos.averageCost, realizedPnl: pos.realizedPnl.add(price.sub(pos.averageCost).mul(qty)).toDecimalPlaces(8) };
}

/**
 * The first new SELL that takes an instrument's holding below zero at its date, given the existing
 * position changes and the new ones (in time order; existing first on ties, then by line).
 */
export function findOversell(
  existing: readonly { instrumentId: string; at: Date; quantity: Decimal }[],
  fresh: readonly { instrumentId: string; at: Date; quantity: Decimal; line: number }[],
): { line: number; held: Decimal; instrumentId: string } | null {
  type Ev = { instrumentId: string; at: number; quantity: Decimal; line: number | null; order: number };
  const evs: Ev[] = [
    ...existing.map((e, i) => ({ instrumentId: e.instrumentId, at: e.at.getTime(), quantity: e.quantity, line: null, order: i })),
    ...fresh.map((e) => ({ instrumentId: e.instrumentId, at: e.at.getTime(), quantity: e.quantity, line: e.line, order: 1e9 + e.line })),
  ].sort((a, b) => a.instrumentId.localeCompare(b.instrumentId) || a.at - b.at || a.order - b.order);
  let inst = '';
  let held: Decimal = ZERO;
  let lastFreshSell: { line: number; held: Decimal } | null = null;
  for (const e of evs) {
    if (e.instrumentId !== inst) {
      inst = e.instrumentId;
      held = ZERO;
      lastFreshSell = null;
    }
    const before = held;
    held = held.add(e.quantity);
    if (e.line !== null && e.quantity.isNegative()) lastFreshSell = { line: e.line, held: before };
    if (held.isNegative()) {
      const blame = e.line !== null ? { line: e.line, held: before } : lastFreshSell;
      if (blame) return { ...blame, instrumentId: inst };
    }
  }
  return null;
}
