import { and, eq, isNull, sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { builtOnce } from '../db/built-once.js';
import { uuidArray } from '../db/batch-sql.js';
import { holds, portfolios, positions } from '../db/schema/index.js';
import type { PortfolioRow, PositionRow } from './portfolio.service.js';

/** What a portfolio read may need beside the row itself. */
export interface PortfolioWants {
  /** Held cash (open CASH holds): cash, availableCash, totalValue. */
  balances?: boolean;
  /** The position rows: positions, marketValue, totalValue. */
  positions?: boolean;
}

export interface PortfolioDetailRows {
  row: PortfolioRow;
  /** Sum of the open CASH holds, as numeric text; null unless asked for. */
  held: string | null;
  /** Every position row of the portfolio; null unless asked for. */
  positions: Omit<PositionRow, 'updatedAt'>[] | null;
}

/** The held-cash and positions columns of a details read: each a correlated subquery, null unless wanted. */
function detailColumns(want: PortfolioWants) {
  const held = want.balances
    ? sql<string | null>`(select coalesce(sum(${holds.amount}), 0)::text from ${holds} where ${and(eq(holds.portfolioId, portfolios.id), eq(holds.kind, 'CASH'), isNull(holds.releasedAt))})`
    : sql<string | null>`null`;
  const rows = want.positions
    ? sql<unknown>`(select coalesce(json_agg(json_build_object('instrumentId', ${positions.instrumentId}, 'quantity', ${positions.quantity}::text, 'averageCost', ${positions.averageCost}::text, 'realizedPnl', ${positions.realizedPnl}::text)), '[]'::json) from ${positions} where ${eq(positions.portfolioId, portfolios.id)})`
    : sql<unknown>`null`;
  return { row: portfolios, held, positions: rows };
}

function detailRows(r: { row: PortfolioRow; held: unknown; positions: unknown }): PortfolioDetailRows {
  const list = r.positions === null ? null : (jsonValue(r.positions) as { instrumentId: string; quantity: string; averageCost: string; realizedPnl: string }[]);
  return {
    row: r.row,
    held: r.held === null ? null : String(r.held),
    positions: list === null ? null : list.map((p) => ({ portfolioId: r.row.id, instrumentId: p.instrumentId, quantity: p.quantity, averageCost: p.averageCost, realizedPnl: p.realizedPnl })),
  };
}

/**
 * A portfolio row with its held cash and its position rows in one statement (one round trip instead of
 * three: the row, the holds' sum, the positions), for a dashboard's portfolio read. The row's `cash` and
 * the holds are read in the same statement, so they are one snapshot. Numerics travel as text, never as
 * JSON numbers. The caller checks access before using any of it.
 */
export async function readPortfolioDetails(db: DbOrTx, id: string, want: PortfolioWants): Promise<PortfolioDetailRows | null> {
  const key = `portfolio-details:${want.balances ? 'b' : ''}${want.positions ? 'p' : ''}`;
  const [r] = await builtOnce(db, key, () =>
    db.select(detailColumns(want)).from(portfolios).where(eq(portfolios.id, sql.placeholder('id'))).limit(1).prepare(key.replace(/[^a-z]/g, '_')),
  ).execute({ id });
  return r ? detailRows(r) : null;
}

/**
 * Many portfolios' rows, held cash and position rows in ONE statement (the per-request loaders' batch: a
 * list of portfolios asking for cash, positions or totalValue costs one statement, not three per
 * portfolio), each portfolio's parts from one snapshot, so its totalValue never mixes a fill's cash with
 * the positions before it. Ids with no portfolio are absent from the map.
 */
export async function readPortfoliosDetails(db: DbOrTx, ids: readonly string[]): Promise<Map<string, PortfolioDetailRows>> {
  if (ids.length === 0) return new Map();
  const rs = await db.select(detailColumns({ balances: true, positions: true })).from(portfolios).where(sql`${portfolios.id} = any(${uuidArray([...new Set(ids)])})`);
  return new Map(rs.map((r) => [r.row.id, detailRows(r)]));
}

/** A `json` column as the driver hands it: parsed already (postgres.js, PGlite) or as text. */
export function jsonValue(v: unknown): unknown {
  return typeof v === 'string' ? JSON.parse(v) : v;
}
