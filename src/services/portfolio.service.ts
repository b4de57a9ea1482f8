import { and, eq, inArray, or, sql } from 'drizzle-orm';
import { builtOnce } from '../db/built-once.js';
import { isUniqueViolation } from '../db/errors.js';
import type { Db } from '../db/client.js';
import { portfolios, positions, users } from '../db/schema/index.js';
import { BadInputError, ForbiddenError, InsufficientFundsError, NotFoundError } from '../errors.js';
import { AccessPolicy, allows, isUuid } from './people/access.policy.js';
import type { Principal } from '../auth/tokens.js';
import type { Clock } from '../lib/clock.js';
import { dec, fmt, type Decimal, fmtAvailable } from '../lib/decimal.js';
import { appendEvents, lockPortfolio, type OutboxRelay } from '../events/outbox.js';
import { balances, postLedger, type Balances } from './ledger.js';
import { readPortfolioDetails, readPortfoliosDetails, type PortfolioWants } from './portfolio.read.js';
import type { InstrumentService } from './instrument.service.js';
import type { BrokerRegistry } from '../brokers/registry.js';
import { setBounded } from '../lib/bounded-map.js';

export type PortfolioRow = typeof portfolios.$inferSelect;
export type PositionRow = typeof positions.$inferSelect;

/** The facts of a portfolio that never change, which placing an order needs (see PortfolioService.tradingFacts). */
export type TradingFacts = Pick<PortfolioRow, 'id' | 'ownerId' | 'broker' | 'baseCurrency' | 'brokerConnectionId'>;

/** Portfolios whose trading facts one process keeps (the oldest dropped first). */
const TRADING_FACTS_KEPT = 50_000;

export const SUPPORTED_CURRENCIES = ['INR', 'USD'] as const;
const MAX_TRANSFER = dec('1000000000');

export interface ValuedPosition {
  portfolioId: string;
  instrumentId: string;
  quantity: string;
  averageCost: string;
  realizedPnl: string;
  marketPrice: string | null;
  marketValue: string | null;
  unrealizedPnl: string | null;
}

function checkAmount(raw: string): Decimal {
  const a = dec(raw);
  if (a.lte(0)) throw new BadInputError('amount must be greater than zero', 'amount', 'INVALID_AMOUNT');
  if (a.decimalPlaces() > 2) throw new BadInputError('amount has more than 2 decimal places', 'amount', 'INVALID_AMOUNT');
  if (a.gt(MAX_TRANSFER)) throw new BadInputError(`amount must be at most ${MAX_TRANSFER.toFixed()}`, 'amount', 'INVALID_AMOUNT');
  return a;
}

/** Portfolios, their cash (deposits and withdrawals through the ledger) and their positions at market. */
export class PortfolioService {
  constructor(
    private readonly deps: { db: Db; clock: Clock; relay: OutboxRelay; instruments: InstrumentService; brokers: BrokerRegistry; policy?: AccessPolicy;
      /** The viewer's broker connection a new portfolio trades through. */
      connections?: { forPortfolio(viewer: Principal, id: string): Promise<{ id: string; broker: string }> };
    },
  ) {
    this.policy = deps.policy ?? new AccessPolicy({ db: deps.db });
  }

  private readonly policy: AccessPolicy;

  /** Owner, the owner's advisor, or an admin may read (the one access policy). */
  private async canRead(viewer: Principal, p: PortfolioRow): Promise<boolean> {
    if (p.ownerId === viewer.userId) return true;
    const owner = await this.policy.userFacts(p.ownerId);
    return owner !== null && allows(viewer, owner, 'read');
  }

  /** A portfolio the viewer may read; anyone else's is NOT_FOUND. */
  async get(viewer: Principal, id: string): Promise<PortfolioRow> {
    if (!isUuid(id)) throw new NotFoundError('Portfolio', id);
    const db = this.deps.db;
    const [p] = await builtOnce(db, 'portfolio-by-id', () => db.select().from(portfolios).where(eq(portfolios.id, sql.placeholder('id'))).limit(1).prepare('portfolio_by_id')).execute({ id });
    if (!p || !(await this.canRead(viewer, p))) throw new NotFoundError('Portfolio', id);
    return p;
  }

  /**
   * A portfolio the viewer may move money or trade in: its owner only. Someone who may read it (the
   * owner's advisor, an admin) is FORBIDDEN; anyone else gets NOT_FOUND.
   */
  async getForTrading(viewer: Principal, id: string): Promise<PortfolioRow> {
    const p = await this.get(viewer, id);
    if (!allows(viewer, { id: p.ownerId, advisorId: null }, 'trade')) throw new ForbiddenError('Only the owner trades in a portfolio');
    return p;
  }

  /**
   * What placing an order needs of a portfolio the viewer trades in, as {@link getForTrading} decides it.
   * These facts never change (only cash and the event sequence are ever updated, and no portfolio is ever
   * deleted), so an owner's are kept after the first read: an order then costs no portfolio read before
   * its placement transaction, which locks and reads the row anyway. Anyone but the owner is decided by
   * {@link getForTrading} every time (FORBIDDEN or NOT_FOUND, as the policy says).
   */
  async tradingFacts(viewer: Principal, id: string): Promise<TradingFacts> {
    const hit = this.facts.get(id);
    if (hit && hit.ownerId === viewer.userId) return hit;
    const p = await this.getForTrading(viewer, id);
    const facts: TradingFacts = { id: p.id, ownerId: p.ownerId, broker: p.broker, baseCurrency: p.baseCurrency, brokerConnectionId: p.brokerConnectionId };
    setBounded(this.facts, id, facts, TRADING_FACTS_KEPT);
    return facts;
  }

  private readonly facts = new Map<string, TradingFacts>();

  /** The caller's own portfolios; an advisor also sees those of their clients. */
  async list(viewer: Principal): Promise<PortfolioRow[]> {
    if (viewer.role === 'ADVISOR') {
      const clients = this.deps.db.select({ id: users.id }).from(users).where(eq(users.advisorId, viewer.userId));
      return this.deps.db
        .select()
        .from(portfolios)
        .where(or(eq(portfolios.ownerId, viewer.userId), inArray(portfolios.ownerId, clients)))
        .orderBy(portfolios.createdAt);
    }
    return this.deps.db.select().from(portfolios).where(eq(portfolios.ownerId, viewer.userId)).orderBy(portfolios.createdAt);
  }

  async create(
    viewer: Principal,
    input: { name: string; broker?: string | null; baseCurrency?: string | null; brokerConnectionId?: string | null },
  ): Promise<PortfolioRow> {
    const name = input.name.trim();
    if (!name || name.length > 100) throw new BadInputError('name must be 1–100 characters', 'name', 'INVALID_NAME');
    // A portfolio on a connection trades through that connection's broker account.
    const connection = input.brokerConnectionId && this.deps.connections ? await this.deps.connections.forPortfolio(viewer, input.brokerConnectionId) : null;
    const broker = (input.broker ?? connection?.broker ?? 'paper').trim().toLowerCase();
    if (!this.deps.brokers.has(broker)) throw new BadInputError(`Unknown broker ${broker}`, 'broker', 'UNKNOWN_BROKER');
    if (connection && connection.broker !== broker) throw new BadInputError(`That connection is for ${connection.broker}, not ${broker}`, 'brokerConnectionId', 'BROKER_MISMATCH');
    if (!connection && broker !== 'paper') throw new BadInputError(`A ${broker} portfolio needs a brokerConnectionId (connect the broker first)`, 'brokerConnectionId', 'CONNECTION_REQUIRED');
    const baseCurrency = (input.baseCurrency ?? 'INR').trim().toUpperCase();
    if (!(SUPPORTED_CURRENCIES as readonly string[]).includes(baseCurrency)) {
      throw new BadInputError(`baseCurrency must be one of ${SUPPORTED_CURRENCIES.join(', ')}`, 'baseCurrency', 'UNSUPPORTED_CURRENCY');
    }
    try {
      const [p] = await this.deps.db.insert(portfolios).values({ ownerId: viewer.userId, name, broker, baseCurrency, brokerConnectionId: connection?.id ?? null }).returning();
      return p;
    } catch (err) {
      if (isUniqueViolation(err)) throw new BadInputError(`You already have a portfolio named ${name}`, 'name', 'DUPLICATE_NAME');
      throw err;
    }
  }

  async deposit(viewer: Principal, portfolioId: string, rawAmount: string): Promise<PortfolioRow> {
    const amount = checkAmount(rawAmount);
    await this.getForTrading(viewer, portfolioId);
    return this.moveCash(portfolioId, amount, 'DEPOSIT');
  }

  async withdraw(viewer: Principal, portfolioId: string, rawAmount: string): Promise<PortfolioRow> {
    const amount = checkAmount(rawAmount);
    await this.getForTrading(viewer, portfolioId);
    return this.moveCash(portfolioId, amount.neg(), 'WITHDRAWAL');
  }

  /** One transaction: lock, check available cash (withdrawals), ledger line, balance event. */
  private async moveCash(portfolioId: string, amount: Decimal, kind: 'DEPOSIT' | 'WITHDRAWAL'): Promise<PortfolioRow> {
    const now = this.deps.clock.now();
    const { row, events } = await this.deps.db.transaction(async (tx) => {
      const p = await lockPortfolio(tx, portfolioId);
      if (!p) throw new NotFoundError('Portfolio', portfolioId);
      if (amount.isNegative()) {
        const b = await balances(tx, portfolioId, dec(p.cash));
        if (b.available.lt(amount.abs())) throw new InsufficientFundsError(fmt(amount.abs(), 2), fmtAvailable(b.available));
      }
      const cash = await postLedger(tx, portfolioId, p.baseCurrency, [{ kind, amount, description: kind.toLowerCase() }], now);
      const b = await balances(tx, portfolioId, cash);
      const events = await appendEvents(
        tx,
        portfolioId,
        [{ type: 'BALANCE_CHANGED', payload: { cash: fmt(b.cash, 2), availableCash: fmtAvailable(b.available), reason: kind } }],
        now,
      );
      return { row: { ...p, cash: cash.toFixed() }, events };
    });
    await this.deps.relay.published(events);
    return row;
  }

  async balances(portfolioId: string) {
    return balances(this.deps.db, portfolioId);
  }

  async positions(portfolioId: string): Promise<ValuedPosition[]> {
    return this.valued(await this.deps.db.select().from(positions).where(eq(positions.portfolioId, portfolioId)));
  }

  /**
   * Balances and valued positions of many portfolios (already access-checked), in one statement: the
   * per-request loaders' batch, so a list of portfolios is not a statement per portfolio and part, and each
   * portfolio's cash, holds and positions are one snapshot. An id with no portfolio is absent.
   */
  async detailsMany(ids: readonly string[]): Promise<Map<string, { balances: Balances; positions: ValuedPosition[] }>> {
    const rows = await readPortfoliosDetails(this.deps.db, ids);
    const out = new Map<string, { balances: Balances; positions: ValuedPosition[] }>();
    await Promise.all(
      [...rows.values()].map(async (r) => {
        const cash = dec(r.row.cash);
        const held = dec(r.held ?? 0);
        out.set(r.row.id, { balances: { cash, held, available: cash.sub(held) }, positions: await this.valued(r.positions ?? []) });
      }),
    );
    return out;
  }

  /**
   * A portfolio the viewer may read (as `get`), with its balances and valued positions when asked for,
   * in one statement (`portfolio.read.ts`): what a dashboard's portfolio read needs, without a round
   * trip per part. Same answers as `get`, `balances` and `positions`.
   */
  async getWithDetails(viewer: Principal, id: string, want: PortfolioWants): Promise<{ row: PortfolioRow; balances: Balances | null; positions: ValuedPosition[] | null }> {
    if (!isUuid(id)) throw new NotFoundError('Portfolio', id);
    const r = await readPortfolioDetails(this.deps.db, id, want);
    if (!r || !(await this.canRead(viewer, r.row))) throw new NotFoundError('Portfolio', id);
    const cash = dec(r.row.cash);
    const held = r.held === null ? null : dec(r.held);
    return {
      row: r.row,
      balances: held === null ? null : { cash, held, available: cash.sub(held) },
      positions: r.positions === null ? null : await this.valued(r.positions),
    };
  }

  /** Position rows valued at market; closed rows with no realised P&L left out. */
  private async valued(rows: Pick<PositionRow, 'portfolioId' | 'instrumentId' | 'quantity' | 'averageCost' | 'realizedPnl'>[]): Promise<ValuedPosition[]> {
    const instruments = await this.deps.instruments.byIds(rows.map((r) => r.instrumentId));
    const byId = new Map(instruments.map((i) => [i.id, i]));
    return rows
      .filter((r) => !dec(r.quantity).isZero() || !dec(r.realizedPnl).isZero())
      .map((r) => {
        const inst = byId.get(r.instrumentId);
        return valuePosition(r, inst ? this.deps.instruments.quoteOf(inst)?.last ?? null : null);
      });
  }

  async position(portfolioId: string, instrumentId: string): Promise<PositionRow | null> {
    const [r] = await this.deps.db
      .select()
      .from(positions)
      .where(and(eq(positions.portfolioId, portfolioId), eq(positions.instrumentId, instrumentId)));
    return r ?? null;
  }
}

/** What positions are worth at market: the sum of their market values (one with no quote counts as zero). */
export function positionsValue(list: readonly Pick<ValuedPosition, 'marketValue'>[]): Decimal {
  return list.reduce((acc, x) => acc.add(x.marketValue ?? 0), dec(0));
}

/** A portfolio's total value: its settled cash plus {@link positionsValue}. */
export function totalValue(cash: Decimal, list: readonly Pick<ValuedPosition, 'marketValue'>[]): Decimal {
  return cash.add(positionsValue(list));
}

/**
 * A position valued at `last`: market value and unrealised P&L against average cost. The average is
 * kept to 16 places (db/schema/common.ts) and shown, like the P&L figured from it, to 8.
 */
export function valuePosition(r: Pick<PositionRow, 'portfolioId' | 'instrumentId' | 'quantity' | 'averageCost' | 'realizedPnl'>, last: string | null): ValuedPosition {
  const q = dec(r.quantity);
  const avg = dec(r.averageCost);
  return {
    portfolioId: r.portfolioId,
    instrumentId: r.instrumentId,
    quantity: fmt(q),
    averageCost: fmt(avg.toDecimalPlaces(8)),
    realizedPnl: fmt(r.realizedPnl),
    marketPrice: last,
    marketValue: last === null ? null : fmt(q.mul(last)),
    unrealizedPnl: last === null ? null : fmt(dec(last).sub(avg).mul(q).toDecimalPlaces(8)),
  };
}
