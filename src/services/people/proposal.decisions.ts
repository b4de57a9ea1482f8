import { and, eq, gt, inArray, isNull, lte, or } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { proposals } from '../../db/schema/index.js';
import { BadInputError, DomainError, ForbiddenError, InvalidStateError } from '../../errors.js';
import type { Principal } from '../../auth/tokens.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import type { OrderService } from '../orders/order.service.js';
import type { ProposalRow, ProposalService } from './proposal.service.js';
import type { BasketRunPort, SmallcaseReader } from './proposal.ports.js';

/**
 * A proposal's state machine: PENDING → APPROVED (the client; places the trades) | REJECTED (the
 * client) | CANCELED (its advisor) | EXPIRED (the clock). Every move is one guarded UPDATE
 * (`WHERE status = 'PENDING'`), so two deciders never both win.
 */
function proposalState(status: string, action: string): InvalidStateError {
  return new InvalidStateError(`Cannot ${action} a proposal in status ${status}`, { status });
}

export class ProposalDecisions {
  constructor(
    private readonly deps: { db: Db; clock: Clock; logger: Logger; proposals: ProposalService; orders: OrderService; baskets?: (BasketRunPort & SmallcaseReader) | null },
  ) {}

  /**
   * The client approves: the proposal moves to APPROVED and its trades are placed: a basket run for a
   * smallcase, or its lines as orders (sells first) with client order ids derived from the proposal, so
   * approving again with the same clientRequestId returns the same proposal and places nothing twice.
   */
  async approve(viewer: Principal, id: string, clientRequestId?: string | null): Promise<ProposalRow> {
    const p = await this.forClient(viewer, id);
    const key = clientRequestId?.trim() || null;
    if (key && key.length > 100) throw new BadInputError('clientRequestId must be at most 100 characters', 'clientRequestId', 'TOO_LONG');
    const now = this.deps.clock.now();
    if (p.status === 'PENDING' && p.expiresAt && p.expiresAt.getTime() <= now.getTime()) {
      await this.expireDue();
      throw proposalState('EXPIRED', 'approve');
    }
    if (p.smallcaseId && !this.deps.baskets) throw proposalState(p.status, 'approve (basket runs are not available on this server)');
    // The client invests in it themselves, so they must be able to see it (their advisor's public smallcase).
    if (p.smallcaseId && p.status === 'PENDING' && !(await this.deps.baskets!.get(viewer, p.smallcaseId))) {
      throw proposalState(p.status, 'approve (the smallcase is private to the advisor)');
    }
    const [won] = await this.deps.db
      .update(proposals)
      .set({ status: 'APPROVED', decidedAt: now, clientRequestId: key })
      .where(and(eq(proposals.id, id), eq(proposals.status, 'PENDING'), or(isNull(proposals.expiresAt), gt(proposals.expiresAt, now))))
      .returning();
    if (!won) {
      const current = await this.deps.proposals.get(viewer, id);
      // The same request again (or a retry after a crash): finish placing and return it.
      if ((current.status === 'APPROVED' || current.status === 'EXECUTED') && current.clientRequestId === key) return this.execute(viewer, current);
      throw proposalState(current.status, 'approve');
    }
    const done = await this.execute(viewer, won);
    await this.deps.proposals.announce([done], 'proposal.decided');
    return done;
  }

  async reject(viewer: Principal, id: string, reason?: string | null): Promise<ProposalRow> {
    await this.forClient(viewer, id);
    const r = reason?.trim().slice(0, 1000) || null;
    return this.move(viewer, id, 'REJECTED', 'reject', { decisionReason: r });
  }

  /** Its advisor withdraws a pending proposal. */
  async cancel(viewer: Principal, id: string): Promise<ProposalRow> {
    const p = await this.deps.proposals.get(viewer, id);
    if (p.advisorId !== viewer.userId) throw new ForbiddenError('Only the advisor who made a proposal cancels it');
    return this.move(viewer, id, 'CANCELED', 'cancel', {});
  }

  /** Pending proposals past their expiry become EXPIRED (the `expire-proposals` job). */
  async expireDue(): Promise<number> {
    const rows = await this.deps.db
      .update(proposals)
      .set({ status: 'EXPIRED', decidedAt: this.deps.clock.now() })
      .where(and(eq(proposals.status, 'PENDING'), lte(proposals.expiresAt, this.deps.clock.now())))
      .returning();
    if (rows.length) await this.deps.proposals.announce(rows, 'proposal.decided');
    return rows.length;
  }

  private async forClient(viewer: Principal, id: string): Promise<ProposalRow> {
    const p = await this.deps.proposals.get(viewer, id);
    if (p.clientId !== viewer.userId) throw new ForbiddenError('Only the client decides on a proposal');
    return p;
  }

  private async move(viewer: Principal, id: string, to: 'REJECTED' | 'CANCELED', action: string, extra: Partial<ProposalRow>): Promise<ProposalRow> {
    const [row] = await this.deps.db
      .update(proposals)
      .set({ status: to, decidedAt: this.deps.clock.now(), ...extra })
      .where(and(eq(proposals.id, id), eq(proposals.status, 'PENDING')))
      .returning();
    if (!row) throw proposalState((await this.deps.proposals.get(viewer, id)).status, action);
    await this.deps.proposals.announce([row], 'proposal.decided');
    return row;
  }

  /** Place what an approved proposal holds; line failures are recorded, never half-hidden. */
  private async execute(viewer: Principal, p: ProposalRow): Promise<ProposalRow> {
    if (p.smallcaseId) {
      if (p.runId) return p;
      const { runId } = await this.deps.baskets!.invest(viewer, { smallcaseId: p.smallcaseId, portfolioId: p.portfolioId, amount: p.amount!, clientRequestId: `proposal-${p.id}` });
      const [r] = await this.deps.db.update(proposals).set({ runId, status: 'EXECUTED' }).where(eq(proposals.id, p.id)).returning();
      return r;
    }
    const ordered = p.lines.map((l, i) => ({ l, i })).sort((a, b) => (a.l.side === b.l.side ? a.i - b.i : a.l.side === 'SELL' ? -1 : 1));
    const orderIds: string[] = [];
    const failures: string[] = [];
    for (const { l, i } of ordered) {
      try {
        const o = await this.deps.orders.place(viewer, {
          portfolioId: p.portfolioId,
          symbol: l.symbol!,
          exchange: l.exchange,
          side: l.side as 'BUY' | 'SELL',
          type: (l.type ?? 'MARKET') as 'MARKET' | 'LIMIT',
          quantity: l.quantity!,
          limitPrice: l.limitPrice,
          clientOrderId: `proposal-${p.id}-${i}`,
        });
        orderIds.push(o.id);
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        failures.push(`line ${i + 1} (${l.side} ${l.quantity} ${l.symbol}): ${err.code}`);
      }
    }
    const [r] = await this.deps.db
      .update(proposals)
      .set({ orderIds, ...(failures.length ? { decisionReason: failures.join('; ') } : {}), ...(orderIds.length && !failures.length ? { status: 'EXECUTED' as const } : {}) })
      .where(and(eq(proposals.id, p.id), inArray(proposals.status, ['APPROVED', 'EXECUTED'])))
      .returning();
    return r ?? p;
  }
}

