import type { Principal } from '../../auth/tokens.js';
import { isUniqueViolation } from '../../db/errors.js';
import { BadInputError, BrokerAuthRequiredError, BrokerUnavailableError, InvalidOrderStateError, NotFoundError } from '../../errors.js';
import { BrokerAuthError, BrokerTransientError } from '../../brokers/broker.js';
import type { Clock } from '../../lib/clock.js';
import type { BrokerRegistry } from '../../brokers/registry.js';
import { dec, fmt, type Decimal } from '../../lib/decimal.js';
import { assertAdmin, type AccessPolicy } from '../people/access.policy.js';
import { SUPPORTED_CURRENCIES, type PortfolioRow } from '../portfolio.service.js';
import type { OrderRow } from '../orders/order.snapshot.js';
import { isTerminal, type OrderStatus } from '../orders/order.state.js';
import type { ParentOrderRow, PooledAccountRow, PooledRepository } from './pooled.repository.js';
import type { PooledWindowService } from './pooled-window.service.js';
import type { ChildCancelService } from './child-cancel.service.js';

export const DEFAULT_WINDOW_MS = 1_000;
const MIN_WINDOW_MS = 100;
const MAX_WINDOW_MS = 86_400_000;

export interface ReconciliationLine {
  instrumentId: string;
  /** Decimal strings. */
  brokerQuantity: string;
  ledgerQuantity: string;
  difference: string;
}

/**
 * Pooled master accounts: admins create them (on paper or a broker connection) and read their parent
 * orders and reconciliation; members' portfolios are created in them. Also the order loop's hooks: a
 * member order is never submitted on its own, and a child already claimed by a parent cannot be canceled.
 */
export class PooledAccountService {
  /** Membership never changes once a portfolio exists, so it is cached. */
  private readonly membership = new Map<string, string | null>();

  constructor(
    private readonly deps: {
      repo: PooledRepository;
      /** The one access policy: who may see which member's orders. */
      policy: Pick<AccessPolicy, 'allowedUsers'>;
      clock: Clock;
      brokers: BrokerRegistry;
      connections?: { forPortfolio(viewer: Principal, id: string): Promise<{ id: string; broker: string }> };
      window?: () => PooledWindowService;
      childCancels?: Pick<ChildCancelService, 'cancel'>;
      /** Called once a new account has committed (window-schedule.ts: the window tick starts). */
      onAccountCreated?: () => Promise<void>;
    },
  ) {}

  async create(viewer: Principal, input: { name: string; broker: string; brokerConnectionId?: string | null; windowMs?: number | null }): Promise<PooledAccountRow> {
    assertAdmin(viewer);
    const name = input.name.trim();
    if (!name || name.length > 100) throw new BadInputError('name must be 1–100 characters', 'name', 'INVALID_NAME');
    const broker = input.broker.trim().toLowerCase();
    if (!this.deps.brokers.has(broker)) throw new BadInputError(`Unknown broker ${broker}`, 'broker', 'UNKNOWN_BROKER');
    const windowMs = input.windowMs ?? DEFAULT_WINDOW_MS;
    if (!Number.isInteger(windowMs) || windowMs < MIN_WINDOW_MS || windowMs > MAX_WINDOW_MS) {
      throw new BadInputError(`windowMs must be an integer from ${MIN_WINDOW_MS} to ${MAX_WINDOW_MS}`, 'windowMs', 'OUT_OF_RANGE');
    }
    const connection = input.brokerConnectionId && this.deps.connections ? await this.deps.connections.forPortfolio(viewer, input.brokerConnectionId) : null;
    if (connection && connection.broker !== broker) throw new BadInputError(`That connection is for ${connection.broker}, not ${broker}`, 'brokerConnectionId', 'BROKER_MISMATCH');
    if (!connection && broker !== 'paper') throw new BadInputError(`A ${broker} pooled account needs a brokerConnectionId`, 'brokerConnectionId', 'CONNECTION_REQUIRED');
    let account: PooledAccountRow;
    try {
      account = await this.deps.repo.insertAccount({ name, broker, brokerConnectionId: connection?.id ?? null, windowMs, createdBy: viewer.userId });
    } catch (err) {
      if (isUniqueViolation(err)) throw new BadInputError(`A pooled account named ${name} exists`, 'name', 'DUPLICATE_NAME');
      throw err;
    }
    // After the commit (window-schedule.ts says why the order matters). If this fails the account exists
    // but its windows wait for the next worker start or account creation to schedule their tick.
    await this.deps.onAccountCreated?.();
    return account;
  }

  list(viewer: Principal): Promise<PooledAccountRow[]> {
    assertAdmin(viewer);
    return this.deps.repo.listAccounts();
  }

  /** Admins only; anyone else gets NOT_FOUND. */
  async get(viewer: Principal, id: string): Promise<PooledAccountRow> {
    assertAdmin(viewer);
    const a = await this.deps.repo.account(id);
    if (!a) throw new NotFoundError('PooledAccount', id);
    return a;
  }

  /** createPortfolio(..., pooledAccountId): the viewer's member portfolio in an existing pooled account. */
  async createMemberPortfolio(
    viewer: Principal,
    pooledAccountId: string,
    input: { name: string; baseCurrency?: string | null; broker?: string | null; brokerConnectionId?: string | null },
  ): Promise<PortfolioRow> {
    const account = await this.deps.repo.account(pooledAccountId);
    if (!account) throw new NotFoundError('PooledAccount', pooledAccountId);
    // The pool's account trades for its members: a broker named otherwise, or a connection of the member's
    // own, would be silently ignored.
    if (input.broker != null && input.broker.trim().toLowerCase() !== account.broker) {
      throw new BadInputError(`This pooled account trades through ${account.broker}, not ${input.broker}`, 'broker', 'BROKER_MISMATCH');
    }
    if (input.brokerConnectionId != null) throw new BadInputError('A member portfolio trades through the pooled account, not a connection of its own', 'brokerConnectionId', 'POOLED_MEMBER');
    const name = input.name.trim();
    if (!name || name.length > 100) throw new BadInputError('name must be 1–100 characters', 'name', 'INVALID_NAME');
    const baseCurrency = (input.baseCurrency ?? 'INR').trim().toUpperCase();
    if (!(SUPPORTED_CURRENCIES as readonly string[]).includes(baseCurrency)) {
      throw new BadInputError(`baseCurrency must be one of ${SUPPORTED_CURRENCIES.join(', ')}`, 'baseCurrency', 'UNSUPPORTED_CURRENCY');
    }
    try {
      // A member portfolio has no connection of its own: the pooled account's broker account trades for it.
      const p = await this.deps.repo.insertMemberPortfolio({ ownerId: viewer.userId, name, broker: account.broker, baseCurrency }, account.id);
      this.membership.set(p.id, account.id);
      return p;
    } catch (err) {
      if (isUniqueViolation(err)) throw new BadInputError(`You already have a portfolio named ${name}`, 'name', 'DUPLICATE_NAME');
      throw err;
    }
  }

  private async accountOf(portfolioId: string): Promise<string | null> {
    if (this.membership.has(portfolioId)) return this.membership.get(portfolioId)!;
    const a = await this.deps.repo.accountOfPortfolio(portfolioId);
    this.membership.set(portfolioId, a);
    return a;
  }

  /** Order-loop hook (submit-order): true for a member's order, which waits for its window instead. */
  async holdsOrder(o: Pick<OrderRow, 'portfolioId'>): Promise<boolean> {
    const account = await this.accountOf(o.portfolioId);
    if (account === null) return false;
    // The order joined its window: the window may now be full (early close, POOLED_WINDOW_MAX_ORDERS).
    await this.deps.window?.().orderJoined(account);
    return true;
  }

  /**
   * Order-loop hook (cancel): a child a parent has claimed is at the broker in the parent; its cancel
   * reduces the parent (ChildCancelService) or is refused with INVALID_ORDER_STATE. Null for any other
   * order (the order loop cancels it as usual).
   */
  async cancelClaimed(o: OrderRow): Promise<OrderRow | null> {
    if (o.status === 'PENDING' || isTerminal(o.status as OrderStatus)) return null;
    if ((await this.accountOf(o.portfolioId)) === null) return null;
    if (!this.deps.childCancels) {
      if (await this.deps.repo.parentOfChild(o.id)) throw new InvalidOrderStateError(o.status, 'cancel a pooled order whose window has closed:');
      return null;
    }
    return this.deps.childCancels.cancel(o);
  }

  parentOf(orderId: string): Promise<ParentOrderRow | null> {
    return this.deps.repo.parentOfChild(orderId);
  }

  /** Admin: close the account's window now (what the window job does at each boundary). */
  async closeWindowNow(viewer: Principal, id: string): Promise<ParentOrderRow[]> {
    const account = await this.get(viewer, id);
    const now = this.deps.clock.now();
    const ids = await this.deps.window!().close(account, now, `now:${now.toISOString()}`);
    const rows = await Promise.all(ids.map((pid) => this.deps.repo.parent(pid)));
    return rows.filter((r): r is ParentOrderRow => r !== null);
  }

  /** Admin: the account's member portfolios. */
  members(viewer: Principal, accountId: string) {
    assertAdmin(viewer);
    return this.deps.repo.members(accountId);
  }

  /** Admin: the account's parent orders, newest first. */
  async parentOrders(viewer: Principal, accountId: string, first: number, after?: { createdAt: Date; id: string } | null) {
    assertAdmin(viewer);
    const rows = await this.deps.repo.parentsOf(accountId, first, after);
    return { rows: rows.slice(0, first), hasNextPage: rows.length > first };
  }

  /**
   * A parent's children the viewer may read, as the access policy decides per order's owner: a member
   * sees their own (an advisor also their clients'), an admin all. The other members' orders are left
   * out, never reported, so nothing of them (nor their portfolio ids) leaks through a shared parent.
   */
  async children(viewer: Principal, parentId: string) {
    const rows = await this.deps.repo.children(parentId);
    const allowed = await this.deps.policy.allowedUsers(viewer, rows.map((r) => r.userId), 'read');
    return rows.filter((r) => allowed.has(r.userId));
  }

  /** The broker account's position per instrument against the sum of members' positions: every line. */
  async reconciliation(account: PooledAccountRow): Promise<ReconciliationLine[]> {
    const broker = this.deps.brokers.get(account.broker);
    const remote = await broker.getPositions(account.brokerConnectionId ?? account.id).catch((err: unknown) => {
      // What the broker's failure means to the admin asking: try again later, or reconnect the account's connection.
      if (err instanceof BrokerTransientError) throw new BrokerUnavailableError(account.broker, err);
      if (err instanceof BrokerAuthError) throw new BrokerAuthRequiredError(account.brokerConnectionId ?? account.id, 'EXPIRED');
      throw err;
    });
    const ledger = await this.deps.repo.memberPositions(account.id);
    const known = await this.deps.repo.instrumentsBySymbols(remote.map((r) => ({ symbol: r.symbol, exchange: r.exchange })));
    const idOf = new Map(known.map((i) => [`${i.symbol}/${i.exchange}`, i.id]));
    const lines = new Map<string, { broker: Decimal; ledger: Decimal }>();
    for (const r of remote) {
      const id = idOf.get(`${r.symbol}/${r.exchange}`);
      if (!id) continue;
      const l = lines.get(id) ?? { broker: dec(0), ledger: dec(0) };
      l.broker = l.broker.add(r.quantity);
      lines.set(id, l);
    }
    for (const r of ledger) {
      const l = lines.get(r.instrumentId) ?? { broker: dec(0), ledger: dec(0) };
      l.ledger = l.ledger.add(r.quantity);
      lines.set(r.instrumentId, l);
    }
    return [...lines]
      .filter(([, l]) => !(l.broker.isZero() && l.ledger.isZero()))
      .map(([instrumentId, l]) => ({ instrumentId, brokerQuantity: fmt(l.broker), ledgerQuantity: fmt(l.ledger), difference: fmt(l.broker.sub(l.ledger)) }))
      .sort((a, b) => (a.instrumentId < b.instrumentId ? -1 : 1));
  }
}
