import { dec } from '../../lib/decimal.js';
import type { TsPosition } from './wire.js';

/** A position message of the positions stream: the REST position shape, plus the removal flag some streams carry. */
export type TsStreamPosition = TsPosition & { PositionID?: string; Deleted?: boolean | string };

/**
 * The live positions of one connection, as its positions stream tells them (pure: no I/O, no clock).
 *
 * Each connection of the stream starts with a snapshot of every open position, closed by
 * `{"StreamStatus":"EndSnapshot"}`; after it, each message is one position's new state. The book answers
 * only between the end of a snapshot and the end of that connection: a new connection starts a new
 * snapshot that replaces everything (what changed while disconnected is thereby caught up).
 *
 * A closed position: TradeStation's v3 documentation (and the third-party type sets we could check) does
 * not say how the positions stream reports one. We treat BOTH a `Deleted: true` flag and a `Quantity` of
 * zero as the position's removal, whichever comes.
 */
export class PositionBook {
  private live = new Map<string, TsStreamPosition>();
  private pending: Map<string, TsStreamPosition> | null = null;
  private complete = false;

  /** A connection opened: its snapshot follows; until it ends the book has no answer. */
  beginSnapshot(): void {
    this.pending = new Map();
    this.complete = false;
  }

  /** `EndSnapshot`: the snapshot becomes the book. */
  endSnapshot(): void {
    if (this.pending) this.live = this.pending;
    this.pending = null;
    this.complete = true;
  }

  /** The connection ended or reported an error: no answer until the next snapshot is complete. */
  invalidate(): void {
    this.pending = null;
    this.complete = false;
  }

  get ready(): boolean {
    return this.complete;
  }

  /** Apply one position message (to the snapshot being read, or to the live book). */
  apply(p: TsStreamPosition): void {
    if (!p || typeof p.Symbol !== 'string' || !p.Symbol) return;
    const book = this.pending ?? this.live;
    const key = keyOf(p);
    if (isClosed(p)) {
      book.delete(key);
      // A removal that names the position differently (no PositionID) still closes that symbol.
      for (const [k, q] of book) if (q.Symbol === p.Symbol && (q.AccountID ?? '') === (p.AccountID ?? '')) book.delete(k);
      return;
    }
    // A message without a quantity updates the fields it carries (prices) of a position already known.
    if (p.Quantity === undefined || p.Quantity === null) {
      const known = book.get(key);
      if (known) book.set(key, { ...known, ...p, Quantity: known.Quantity });
      return;
    }
    book.set(key, p);
  }

  /** The open positions (null while the book has no complete snapshot). */
  positions(): TsStreamPosition[] | null {
    return this.complete ? [...this.live.values()] : null;
  }
}

function keyOf(p: TsStreamPosition): string {
  return p.PositionID ? `id:${p.PositionID}` : `sym:${p.AccountID ?? ''}|${p.Symbol}`;
}

/** Removal: `Deleted: true` (or "true"), or a quantity of zero. */
export function isClosed(p: TsStreamPosition): boolean {
  if (p.Deleted === true || p.Deleted === 'true') return true;
  if (p.Quantity === undefined || p.Quantity === null || p.Quantity === '') return false;
  try {
    return dec(String(p.Quantity)).isZero();
  } catch {
    return false;
  }
}
