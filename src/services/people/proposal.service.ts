import { and, desc, eq, inArray, lt, or, type SQL } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { investmentProfiles, portfolios, proposals, users } from '../../db/schema/index.js';
import { BadInputError, ForbiddenError, NotFoundError } from '../../errors.js';
import type { Principal } from '../../auth/tokens.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import type { PubSub } from '../../events/pubsub.js';
import { dec, fmt } from '../../lib/decimal.js';
import { toAsyncIterator } from '../../events/async-iterator.js';
import type { InstrumentService } from '../instrument.service.js';
import type { NotifierPort } from '../../notifications/notification.service.js';
import { eventId } from '../../notifications/events.js';
import { allows, isUuid, type AccessPolicy } from './access.policy.js';
import type { AuditPort } from './audit.service.js';
import { suitabilityWarnings, type SuitabilityProfile, type TradeEffect } from './suitability.js';
import { portfolioSnapshots, priceOf, type SmallcaseReader, type SmallcaseView } from './proposal.ports.js';
import type { RiskLevel } from './profile.service.js';

export type ProposalRow = typeof proposals.$inferSelect;
export type ProposalStatus = ProposalRow['status'];

export interface ProposalLineInput {
  symbol: string;
  exchange?: string | null;
  side: 'BUY' | 'SELL';
  quantity: string;
  type?: 'MARKET' | 'LIMIT' | 'STOP' | 'STOP_LIMIT' | null;
  limitPrice?: string | null;
}

export interface ProposalInput {
  portfolioId: string;
  rationale: string;
  lines?: ProposalLineInput[] | null;
  smallcaseId?: string | null;
  amount?: string | null;
  expiresAt?: Date | null;
}

export interface ProposalDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  pubsub: PubSub;
  policy: AccessPolicy;
  audit: AuditPort;
  notifier: NotifierPort;
  instruments: InstrumentService;
  smallcases: SmallcaseReader;
}

const MAX_LINES = 50;
const MAX_BULK = 5000;

/** Advisors propose; clients see theirs; admins see all. Decisions are in ProposalDecisions. */
export class ProposalService {
  constructor(private readonly deps: ProposalDeps) {}

  async create(viewer: Principal, input: ProposalInput): Promise<ProposalRow> {
    const owner = await this.deps.policy.portfolioOwner(input.portfolioId);
    if (!owner || !allows(viewer, owner, 'read')) throw new NotFoundError('Portfolio', input.portfolioId);
    if (!allows(viewer, owner, 'advise')) throw new ForbiddenError("Only the client's advisor proposes trades");
    const rationale = checkRationale(input.rationale);
    const expiresAt = this.checkExpiry(input.expiresAt);
    const hasLines = Boolean(input.lines?.length);
    if (hasLines === Boolean(input.smallcaseId)) throw new BadInputError('Give either lines or a smallcaseId with an amount', 'lines', 'LINES_OR_SMALLCASE');
    const profiles = await this.profiles([input.portfolioId]);
    const snapshot = (await portfolioSnapshots(this.deps.db, this.deps.instruments, [input.portfolioId])).get(input.portfolioId)!;
    let row: typeof proposals.$inferInsert;
    if (hasLines) {
      const lines = await this.checkLines(input.lines!);
      const effects: TradeEffect[] = lines.map((l) => {
        const p = l.limitPrice ? dec(l.limitPrice) : l.price;
        return { symbol: l.symbol, value: p ? p.mul(l.quantity).mul(l.side === 'BUY' ? 1 : -1) : null };
      });
      const warnings = suitabilityWarnings(profiles.get(input.portfolioId) ?? null, snapshot, effects);
      row = { advisorId: viewer.userId, clientId: owner.id, portfolioId: input.portfolioId, rationale, lines: lines.map(({ price: _p, ...l }) => l), warnings, expiresAt };
    } else {
      const amount = checkAmount(input.amount);
      const sc = await this.smallcase(viewer, input.smallcaseId!);
      const warnings = suitabilityWarnings(profiles.get(input.portfolioId) ?? null, snapshot, smallcaseEffects(this.deps.instruments, sc, amount), {
        newMoney: dec(amount),
        productRisk: sc.riskLevel,
      });
      row = { advisorId: viewer.userId, clientId: owner.id, portfolioId: input.portfolioId, rationale, lines: [], smallcaseId: sc.id, amount, warnings, expiresAt };
    }
    const [p] = await this.deps.db.insert(proposals).values({ ...row, createdAt: this.deps.clock.now() }).returning();
    await this.announce([p], 'proposal.received');
    return p;
  }

  /**
   * One smallcase to many of the advisor's clients (all of them when clientIds is null): each client's
   * oldest portfolio, warnings per client, inserted in one statement. A client who is not the advisor's
   * is NOT_FOUND; a client without a portfolio is skipped.
   */
  async proposeSmallcaseToClients(viewer: Principal, req: { smallcaseId: string; clientIds?: string[] | null; amount: string; rationale: string; expiresAt?: Date | null }): Promise<ProposalRow[]> {
    if (viewer.role !== 'ADVISOR') throw new ForbiddenError('Only advisors propose to their clients');
    const rationale = checkRationale(req.rationale);
    const amount = checkAmount(req.amount);
    const expiresAt = this.checkExpiry(req.expiresAt);
    if (req.clientIds && req.clientIds.length > MAX_BULK) throw new BadInputError(`At most ${MAX_BULK} clients at once`, 'clientIds', 'TOO_MANY');
    const sc = await this.smallcase(viewer, req.smallcaseId);
    const mine = await this.deps.db.select({ id: users.id }).from(users).where(eq(users.advisorId, viewer.userId));
    const mineSet = new Set(mine.map((c) => c.id));
    const clientIds = req.clientIds ? [...new Set(req.clientIds)] : [...mineSet];
    for (const id of clientIds) if (!mineSet.has(id)) throw new NotFoundError('User', id);
    if (clientIds.length === 0) return [];
    const owned = await this.deps.db
      .select({ id: portfolios.id, ownerId: portfolios.ownerId })
      .from(portfolios)
      .where(inArray(portfolios.ownerId, clientIds))
      .orderBy(portfolios.createdAt, portfolios.id);
    const portfolioOf = new Map<string, string>();
    for (const p of owned) if (!portfolioOf.has(p.ownerId)) portfolioOf.set(p.ownerId, p.id);
    const portfolioIds = [...portfolioOf.values()];
    const [profiles, snapshots] = await Promise.all([this.profiles(portfolioIds), portfolioSnapshots(this.deps.db, this.deps.instruments, portfolioIds)]);
    const effects = smallcaseEffects(this.deps.instruments, sc, amount);
    const now = this.deps.clock.now();
    const rows = clientIds
      .filter((c) => portfolioOf.has(c))
      .map((clientId) => {
        const portfolioId = portfolioOf.get(clientId)!;
        const warnings = suitabilityWarnings(profiles.get(portfolioId) ?? null, snapshots.get(portfolioId)!, effects, { newMoney: dec(amount), productRisk: sc.riskLevel });
        return { advisorId: viewer.userId, clientId, portfolioId, rationale, lines: [], smallcaseId: sc.id, amount, warnings, expiresAt, createdAt: now };
      });
    const created: ProposalRow[] = [];
    for (let i = 0; i < rows.length; i += 500) created.push(...(await this.deps.db.insert(proposals).values(rows.slice(i, i + 500)).returning()));
    await this.announce(created, 'proposal.received');
    return created;
  }

  /** Client: theirs; advisor: the ones they made; admin: all. Newest first. */
  async list(viewer: Principal, opts: { status?: ProposalStatus | null; first: number; after?: { createdAt: Date; id: string } | null }) {
    const conds: SQL[] = [];
    if (viewer.role === 'ADVISOR') conds.push(eq(proposals.advisorId, viewer.userId));
    else if (viewer.role !== 'ADMIN') conds.push(eq(proposals.clientId, viewer.userId));
    if (opts.status) conds.push(eq(proposals.status, opts.status));
    if (opts.after) {
      const a = opts.after;
      conds.push(or(lt(proposals.createdAt, a.createdAt), and(eq(proposals.createdAt, a.createdAt), lt(proposals.id, a.id)))!);
    }
    const rows = await this.deps.db
      .select()
      .from(proposals)
      .where(conds.length ? and(...conds) : undefined)
      .orderBy(desc(proposals.createdAt), desc(proposals.id))
      .limit(opts.first + 1);
    return { rows: rows.slice(0, opts.first), hasNextPage: rows.length > opts.first };
  }

  /** A proposal its client, its advisor or an admin may see; anyone else gets NOT_FOUND. */
  async get(viewer: Principal, id: string): Promise<ProposalRow> {
    const [p] = isUuid(id) ? await this.deps.db.select().from(proposals).where(eq(proposals.id, id)) : [];
    if (!p || !canSee(viewer, p)) throw new NotFoundError('Proposal', id);
    return p;
  }

  /** Tell both sides: a notification (received or decided) and a proposalUpdated push. */
  async announce(rows: ProposalRow[], type: 'proposal.received' | 'proposal.decided'): Promise<void> {
    const pushes: Promise<void>[] = [];
    for (const p of rows) {
      for (const userId of [p.clientId, p.advisorId]) pushes.push(this.deps.pubsub.publish('proposals', userId, { proposalId: p.id, status: p.status }));
    }
    pushes.push(
      this.deps.notifier.emitMany(
        rows.map((p) => ({
          id: eventId(`proposal:${p.id}:${p.status}`),
          type,
          userId: type === 'proposal.received' ? p.clientId : p.advisorId,
          title: type === 'proposal.received' ? 'New proposal from your advisor' : `Proposal ${p.status.toLowerCase()}`,
          body: type === 'proposal.received' ? p.rationale.slice(0, 500) : `Your proposal was ${p.status.toLowerCase()}${p.decisionReason ? `: ${p.decisionReason}` : ''}`,
          data: { proposalId: p.id, portfolioId: p.portfolioId, status: p.status, warnings: p.warnings },
        })),
      ),
    );
    const results = await Promise.allSettled(pushes);
    for (const r of results) if (r.status === 'rejected') this.deps.logger.warn({ err: r.reason }, 'proposal announcement failed');
    const entries = rows.map((p) => ({
      actorId: type === 'proposal.received' ? p.advisorId : p.clientId,
      action: type === 'proposal.received' ? 'proposal.created' : `proposal.${p.status.toLowerCase()}`,
      subjectId: p.id,
      data: { portfolioId: p.portfolioId, warnings: p.warnings.length },
    }));
    if (this.deps.audit.recordMany) await this.deps.audit.recordMany(entries);
    else for (const e of entries) await this.deps.audit.record(e);
  }

  private async smallcase(viewer: Principal, id: string): Promise<SmallcaseView> {
    const sc = isUuid(id) ? await this.deps.smallcases.get(viewer, id) : null;
    if (!sc) throw new NotFoundError('Smallcase', id);
    return sc;
  }

  private async profiles(portfolioIds: string[]): Promise<Map<string, SuitabilityProfile>> {
    if (portfolioIds.length === 0) return new Map();
    const rows = await this.deps.db.select().from(investmentProfiles).where(inArray(investmentProfiles.portfolioId, portfolioIds));
    return new Map(rows.map((r) => [r.portfolioId, { riskLevel: r.riskLevel as RiskLevel, maxPositionWeight: r.maxPositionWeight, excludedSymbols: r.excludedSymbols }]));
  }

  private async checkLines(lines: ProposalLineInput[]) {
    if (lines.length > MAX_LINES) throw new BadInputError(`At most ${MAX_LINES} lines`, 'lines', 'TOO_MANY_LINES');
    return Promise.all(
      lines.map(async (l, i) => {
        const q = dec(l.quantity);
        if (q.lte(0)) throw new BadInputError(`lines[${i}].quantity must be greater than zero`, `lines.${i}.quantity`, 'INVALID_QUANTITY');
        const type = l.type ?? (l.limitPrice ? 'LIMIT' : 'MARKET');
        if (type !== 'MARKET' && type !== 'LIMIT') throw new BadInputError('Proposal lines are MARKET or LIMIT orders', `lines.${i}.type`, 'UNSUPPORTED_TYPE');
        if (type === 'LIMIT' && !l.limitPrice) throw new BadInputError('A LIMIT line needs a limitPrice', `lines.${i}.limitPrice`, 'MISSING_PRICE');
        const inst = await this.deps.instruments.resolve(l.symbol, l.exchange);
        return { symbol: inst.symbol, exchange: inst.exchange, side: l.side, quantity: q.toFixed(), type, limitPrice: type === 'LIMIT' ? dec(l.limitPrice!).toFixed() : null, price: priceOf(this.deps.instruments, inst) };
      }),
    );
  }

  private checkExpiry(expiresAt: Date | null | undefined): Date | null {
    if (!expiresAt) return null;
    if (expiresAt.getTime() <= this.deps.clock.now().getTime()) throw new BadInputError('expiresAt must be in the future', 'expiresAt', 'IN_THE_PAST');
    return expiresAt;
  }
}

/**
 * What a proposed trade is estimated at, as shown to its client: its limit price, else the instrument's
 * last price, else zero (no quote yet); the value is that price times the quantity.
 */
export function estimateLine(line: { limitPrice?: string | null; quantity: string }, last: string | null): { estimatedPrice: string; estimatedValue: string } {
  const price = line.limitPrice ?? last ?? '0';
  return { estimatedPrice: fmt(price), estimatedValue: fmt(dec(price).mul(line.quantity)) };
}

export function canSee(viewer: Principal, p: Pick<ProposalRow, 'clientId' | 'advisorId'>): boolean {
  return viewer.role === 'ADMIN' || viewer.userId === p.clientId || viewer.userId === p.advisorId;
}

function checkRationale(r: string): string {
  const t = r.trim();
  if (!t || t.length > 5000) throw new BadInputError('rationale must be 1–5000 characters', 'rationale', 'INVALID_RATIONALE');
  return t;
}

function checkAmount(raw: string | null | undefined): string {
  if (!raw) throw new BadInputError('A smallcase proposal needs an amount', 'amount', 'INVALID_AMOUNT');
  const a = dec(raw);
  if (a.lte(0) || a.decimalPlaces() > 2) throw new BadInputError('amount must be > 0 with at most 2 decimals', 'amount', 'INVALID_AMOUNT');
  return a.toFixed(2);
}

/** Each constituent's share of the amount, as trade effects for the suitability check. */
function smallcaseEffects(instruments: InstrumentService, sc: SmallcaseView, amount: string): TradeEffect[] {
  return sc.constituents.map((c) => ({ symbol: c.symbol, value: dec(amount).mul(c.weight) }));
}

/** proposalUpdated: changes of the viewer's proposals (as client or advisor), as ids to read fresh. */
export async function proposalStream(pubsub: PubSub, viewer: Principal): Promise<AsyncIterableIterator<{ proposalId: string; status: string }>> {
  const it = toAsyncIterator<{ proposalId: string; status: string }>(async (push) => pubsub.subscribe('proposals', viewer.userId, push));
  await it.ready;
  return it;
}
