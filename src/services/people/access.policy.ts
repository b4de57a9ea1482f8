import { eq, inArray } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { portfolios, users } from '../../db/schema/index.js';
import { ForbiddenError } from '../../errors.js';
import type { Principal } from '../../auth/tokens.js';

/**
 * The one access policy. Every service asks it before it reads or changes someone's data:
 * - `read`   (see a user's portfolios, positions, orders, performance, profile, proposals): the owner,
 *            the owner's advisor, an admin;
 * - `advise` (set an investment profile, propose trades): the owner's advisor, and for profiles the owner;
 * - `trade`  (move money, place or cancel orders, approve proposals): the owner only.
 * Anything refused on someone else's object is reported as NOT_FOUND by the caller, so nothing leaks.
 */
export type AccessAction = 'read' | 'trade' | 'profile' | 'advise';

/** The owner of an object, with the owner's advisor (the only facts the policy needs). */
export interface OwnerFacts {
  id: string;
  advisorId: string | null;
}

export function isAdmin(viewer: Principal): boolean {
  return viewer.role === 'ADMIN';
}

export function isAdvisorOf(viewer: Principal, owner: OwnerFacts): boolean {
  return viewer.role === 'ADVISOR' && owner.advisorId === viewer.userId;
}

/** The pure decision: may `viewer` do `action` on something `owner` owns? */
export function allows(viewer: Principal, owner: OwnerFacts, action: AccessAction): boolean {
  const self = viewer.userId === owner.id;
  switch (action) {
    case 'read':
      return self || isAdmin(viewer) || isAdvisorOf(viewer, owner);
    case 'profile':
      return self || isAdvisorOf(viewer, owner);
    case 'advise':
      return isAdvisorOf(viewer, owner);
    case 'trade':
      return self;
  }
}

/** Whom may `viewer` see as a user record: self, their own clients (advisor), anyone (admin). */
export function canSeeUser(viewer: Principal, target: OwnerFacts): boolean {
  return allows(viewer, target, 'read');
}

/**
 * Whose user record `viewer` may be shown where one is referred to (a smallcase's owner): those of
 * {@link canSeeUser}, and a client's own advisor (`me { advisor }` shows them too). `viewerAdvisorId` is
 * the viewer's advisor as stored now.
 */
export function canSeeUserRecord(viewer: Principal, target: OwnerFacts, viewerAdvisorId: string | null): boolean {
  return canSeeUser(viewer, target) || (viewerAdvisorId !== null && viewerAdvisorId === target.id);
}

/** API keys without the TRADE scope cannot run any mutation. */
export function assertMayMutate(viewer: Principal | null): void {
  if (viewer?.scopes && !viewer.scopes.includes('TRADE')) {
    throw new ForbiddenError('This API key has the READ scope only; mutations need a TRADE key');
  }
}

/** Only a person (password, OIDC), never an API key, manages credentials such as API keys. */
export function assertInteractive(viewer: Principal): void {
  if (viewer.apiKeyId) throw new ForbiddenError('API keys cannot manage credentials; sign in instead');
}

export function assertAdmin(viewer: Principal): void {
  if (!isAdmin(viewer)) throw new ForbiddenError('Administrators only');
}

/** The lookups the policy needs, kept in one place. */
export class AccessPolicy {
  constructor(private readonly deps: { db: Db }) {}

  async userFacts(userId: string): Promise<OwnerFacts | null> {
    const [u] = await this.deps.db.select({ id: users.id, advisorId: users.advisorId }).from(users).where(eq(users.id, userId)).limit(1);
    return u ?? null;
  }

  /** The owner facts of a portfolio, or null if there is no such portfolio. */
  async portfolioOwner(portfolioId: string): Promise<OwnerFacts | null> {
    if (!isUuid(portfolioId)) return null;
    const [r] = await this.deps.db
      .select({ id: users.id, advisorId: users.advisorId })
      .from(portfolios)
      .innerJoin(users, eq(users.id, portfolios.ownerId))
      .where(eq(portfolios.id, portfolioId))
      .limit(1);
    return r ?? null;
  }

  /**
   * Of `userIds`, those on whose things `viewer` may do `action` (one query at most): what a list mixing
   * several users' objects (a pooled parent's children) is filtered by, so each user's are shown only to
   * those the policy allows.
   */
  async allowedUsers(viewer: Principal, userIds: Iterable<string>, action: AccessAction): Promise<Set<string>> {
    const allowed = new Set<string>();
    const others: string[] = [];
    for (const id of new Set(userIds)) {
      if (id === viewer.userId) {
        if (allows(viewer, { id, advisorId: null }, action)) allowed.add(id);
      } else others.push(id);
    }
    // A client's decision on anyone else's things needs no facts: only admins and advisors see them.
    if (others.length === 0 || (viewer.role !== 'ADMIN' && viewer.role !== 'ADVISOR')) return allowed;
    const facts = await this.deps.db.select({ id: users.id, advisorId: users.advisorId }).from(users).where(inArray(users.id, others));
    for (const f of facts) if (allows(viewer, f, action)) allowed.add(f.id);
    return allowed;
  }

  /**
   * Of `portfolioIds`, those `viewer` may read as the database says now: the viewer's role as stored
   * now (a socket keeps the principal it connected with) and each owner's advisor as stored now. What a
   * live stream re-checks when someone's role or advisor changed (EventService).
   */
  async readablePortfolios(viewer: Principal, portfolioIds: readonly string[]): Promise<Set<string>> {
    const ids = portfolioIds.filter(isUuid);
    const readable = new Set<string>();
    if (ids.length === 0) return readable;
    const [me] = await this.deps.db.select({ role: users.role }).from(users).where(eq(users.id, viewer.userId)).limit(1);
    if (!me) return readable;
    const now: Principal = { ...viewer, role: me.role };
    const rows = await this.deps.db
      .select({ portfolioId: portfolios.id, id: users.id, advisorId: users.advisorId })
      .from(portfolios)
      .innerJoin(users, eq(users.id, portfolios.ownerId))
      .where(inArray(portfolios.id, ids));
    for (const r of rows) if (allows(now, r, 'read')) readable.add(r.portfolioId);
    return readable;
  }

  async mayOnUser(viewer: Principal, userId: string, action: AccessAction): Promise<boolean> {
    const facts = viewer.userId === userId ? { id: userId, advisorId: null } : await this.userFacts(userId);
    return facts !== null && allows(viewer, facts, action);
  }
}

export function isUuid(id: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id);
}
