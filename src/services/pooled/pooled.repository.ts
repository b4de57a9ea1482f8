import { and, asc, desc, eq, inArray, lt, lte, notInArray, or, sql } from 'drizzle-orm';
import { inLiterals } from '../../db/batch-sql.js';
import { TERMINAL_STATUSES } from '../orders/order.state.js';
import type { Db, Tx } from '../../db/client.js';
import {
  fills,
  instruments,
  orders,
  pooledAccounts,
  pooledChildren,
  pooledMembers,
  pooledParentFills,
  pooledParentOrders,
  portfolios,
  positions,
} from '../../db/schema/index.js';

export type PooledAccountRow = typeof pooledAccounts.$inferSelect;
export type ParentOrderRow = typeof pooledParentOrders.$inferSelect;
export type ParentFillRow = typeof pooledParentFills.$inferSelect;
export type ChildOrderRow = typeof orders.$inferSelect;
export type ChildKey = Pick<ChildOrderRow, 'id' | 'portfolioId' | 'side'>;

/** Every query of pooled accounts, so the services hold rules only. */
export class PooledRepository {
  constructor(private readonly db: Db) {}

  async insertAccount(values: typeof pooledAccounts.$inferInsert): Promise<PooledAccountRow> {
    const [row] = await this.db.insert(pooledAccounts).values(values).returning();
    return row;
  }

  /** Whether any pooled account exists (one index probe). */
  async anyAccount(): Promise<boolean> {
    const [row] = await this.db.select({ id: pooledAccounts.id }).from(pooledAccounts).limit(1);
    return row !== undefined;
  }

  listAccounts(): Promise<PooledAccountRow[]> {
    return this.db.select().from(pooledAccounts).orderBy(asc(pooledAccounts.createdAt), asc(pooledAccounts.id));
  }

  async account(id: string): Promise<PooledAccountRow | null> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
    const [row] = await this.db.select().from(pooledAccounts).where(eq(pooledAccounts.id, id));
    return row ?? null;
  }

  /** A member portfolio and its membership, in one transaction. */
  async insertMemberPortfolio(values: typeof portfolios.$inferInsert, pooledAccountId: string) {
    return this.db.transaction(async (tx) => {
      const [p] = await tx.insert(portfolios).values(values).returning();
      await tx.insert(pooledMembers).values({ portfolioId: p.id, pooledAccountId });
      return p;
    });
  }

  async accountOfPortfolio(portfolioId: string): Promise<string | null> {
    const [m] = await this.db.select().from(pooledMembers).where(eq(pooledMembers.portfolioId, portfolioId));
    return m?.pooledAccountId ?? null;
  }

  members(accountId: string) {
    return this.db
      .select({ p: portfolios })
      .from(pooledMembers)
      .innerJoin(portfolios, eq(portfolios.id, pooledMembers.portfolioId))
      .where(eq(pooledMembers.pooledAccountId, accountId))
      .orderBy(asc(portfolios.createdAt), asc(portfolios.id))
      .then((rows) => rows.map((r) => r.p));
  }

  async parentOfChild(orderId: string): Promise<ParentOrderRow | null> {
    const [r] = await this.db
      .select({ p: pooledParentOrders })
      .from(pooledChildren)
      .innerJoin(pooledParentOrders, eq(pooledParentOrders.id, pooledChildren.parentId))
      .where(eq(pooledChildren.orderId, orderId));
    return r?.p ?? null;
  }

  async parent(id: string, tx: Db | Tx = this.db): Promise<ParentOrderRow | null> {
    const [r] = await tx.select().from(pooledParentOrders).where(eq(pooledParentOrders.id, id));
    return r ?? null;
  }

  parentsOf(accountId: string, first: number, after?: { createdAt: Date; id: string } | null) {
    const conds = [eq(pooledParentOrders.pooledAccountId, accountId)];
    if (after) {
      conds.push(
        or(lt(pooledParentOrders.createdAt, after.createdAt), and(eq(pooledParentOrders.createdAt, after.createdAt), lt(pooledParentOrders.id, after.id)))!,
      );
    }
    return this.db
      .select()
      .from(pooledParentOrders)
      .where(and(...conds))
      .orderBy(desc(pooledParentOrders.createdAt), desc(pooledParentOrders.id))
      .limit(first + 1);
  }

  /** A parent's children, just what allocation needs to lock and split (the rows are read under the locks). */
  childKeys(parentId: string, tx: Db | Tx = this.db): Promise<ChildKey[]> {
    return tx
      .select({ id: orders.id, portfolioId: orders.portfolioId, side: orders.side })
      .from(pooledChildren)
      .innerJoin(orders, eq(orders.id, pooledChildren.orderId))
      .where(eq(pooledChildren.parentId, parentId));
  }

  /** The ids of a parent's children that have not ended yet. */
  async openChildIds(parentId: string): Promise<string[]> {
    const rows = await this.db
      .select({ id: orders.id })
      .from(pooledChildren)
      .innerJoin(orders, eq(orders.id, pooledChildren.orderId))
      .where(and(eq(pooledChildren.parentId, parentId), notInArray(orders.status, [...TERMINAL_STATUSES])))
      .orderBy(asc(orders.createdAt), asc(orders.id));
    return rows.map((r) => r.id);
  }

  children(parentId: string, tx: Db | Tx = this.db): Promise<ChildOrderRow[]> {
    return tx
      .select({ o: orders })
      .from(pooledChildren)
      .innerJoin(orders, eq(orders.id, pooledChildren.orderId))
      .where(eq(pooledChildren.parentId, parentId))
      .orderBy(asc(orders.createdAt), asc(orders.id))
      .then((rows) => rows.map((r) => r.o));
  }

  /** The PENDING market children of an account's members placed at or before `at`, oldest first. */
  pendingChildren(accountId: string, at: Date): Promise<Pick<ChildOrderRow, 'id' | 'portfolioId' | 'instrumentId'>[]> {
    // Only what the claim needs to group them (it reads the rows it moves back from its own update).
    return this.db
      .select({ id: orders.id, portfolioId: orders.portfolioId, instrumentId: orders.instrumentId })
      .from(orders)
      .innerJoin(pooledMembers, eq(pooledMembers.portfolioId, orders.portfolioId))
      .where(and(eq(pooledMembers.pooledAccountId, accountId), eq(orders.status, 'PENDING'), eq(orders.type, 'MARKET'), lte(orders.createdAt, at)))
      .orderBy(asc(orders.createdAt), asc(orders.id));
  }

  /** How many PENDING market orders of an account's members wait for the window (early close). */
  async pendingCount(accountId: string): Promise<number> {
    const [r] = await this.db
      .select({ n: sql<number>`count(*)::int` })
      .from(orders)
      .innerJoin(pooledMembers, eq(pooledMembers.portfolioId, orders.portfolioId))
      .where(and(eq(pooledMembers.pooledAccountId, accountId), eq(orders.status, 'PENDING'), eq(orders.type, 'MARKET')));
    return Number(r?.n ?? 0);
  }

  /** Parents with children still waiting (SUBMITTING or PARTIALLY_FILLED) since before `olderThan`: a dead worker's. */
  async stalledParents(olderThan: Date): Promise<string[]> {
    const rows = await this.db
      .selectDistinct({ id: pooledChildren.parentId })
      .from(pooledChildren)
      .innerJoin(orders, eq(orders.id, pooledChildren.orderId))
      .where(and(inLiterals(orders.status, ['SUBMITTING', 'PARTIALLY_FILLED']), lt(orders.updatedAt, olderThan)))
      .limit(200);
    return rows.map((r) => r.id);
  }

  /**
   * Whether the parent's fill `key` (a broker fill id, or `cross`) has been allocated: a child's fill of it
   * is there (broker fill id `<parent>:<key>`; every child's share is written in one transaction).
   */
  async allocated(parentId: string, key: string, tx: Db | Tx = this.db): Promise<boolean> {
    const rows = await tx
      .select({ id: fills.id })
      .from(pooledChildren)
      .innerJoin(fills, and(eq(fills.orderId, pooledChildren.orderId), eq(fills.brokerFillId, `${parentId}:${key}`)))
      .where(eq(pooledChildren.parentId, parentId))
      .limit(1);
    return rows.length > 0;
  }

  parentFills(parentId: string) {
    return this.db.select().from(pooledParentFills).where(eq(pooledParentFills.parentId, parentId)).orderBy(asc(pooledParentFills.executedAt), asc(pooledParentFills.id));
  }

  async instrument(id: string) {
    const [i] = await this.db.select().from(instruments).where(eq(instruments.id, id));
    return i;
  }

  /** Σ members' positions per instrument (for reconciliation). */
  memberPositions(accountId: string) {
    return this.db
      .select({ instrumentId: positions.instrumentId, quantity: sql<string>`sum(${positions.quantity})` })
      .from(positions)
      .innerJoin(pooledMembers, eq(pooledMembers.portfolioId, positions.portfolioId))
      .where(eq(pooledMembers.pooledAccountId, accountId))
      .groupBy(positions.instrumentId);
  }

  instrumentsBySymbols(keys: { symbol: string; exchange: string }[]) {
    if (keys.length === 0) return Promise.resolve([]);
    return this.db
      .select()
      .from(instruments)
      .where(inArray(instruments.symbol, [...new Set(keys.map((k) => k.symbol))]));
  }

  instrumentsByIds(ids: string[]) {
    if (ids.length === 0) return Promise.resolve([]);
    return this.db.select().from(instruments).where(inArray(instruments.id, ids));
  }
}
