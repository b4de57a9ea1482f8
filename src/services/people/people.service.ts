import { and, desc, eq, ilike, lt, or, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { portfolios, users, type Role } from '../../db/schema/index.js';
import { BadInputError, ForbiddenError, NotFoundError } from '../../errors.js';
import type { Principal } from '../../auth/tokens.js';
import type { Logger } from '../../lib/logger.js';
import { allows, assertAdmin, isUuid, type AccessPolicy } from './access.policy.js';
import type { AuditPort } from './audit.service.js';

export type UserRow = typeof users.$inferSelect;
export type PortfolioRow = typeof portfolios.$inferSelect;

const ROLES: readonly Role[] = ['CLIENT', 'ADVISOR', 'ADMIN'];

/** Admins manage roles and advisor assignments; advisors list their clients. */
export class PeopleService {
  constructor(
    private readonly deps: {
      db: Db;
      policy: AccessPolicy;
      audit: AuditPort;
      logger: Logger;
      /** Called once a role change has committed: processes that keep roles must forget this user's. */
      onRoleChanged?: (userId: string) => Promise<void>;
      /**
       * Called once a change of who may read what has committed (a role; a client's advisor): open
       * subscriptions involving these users re-check access, so a reader who lost it stops at once.
       */
      onAccessChanged?: (userIds: string[]) => Promise<void>;
    },
  ) {}

  private async roleChanged(userId: string): Promise<void> {
    try {
      await this.deps.onRoleChanged?.(userId);
    } catch (err) {
      // Other processes then keep the old role for at most ROLE_KEPT_MS (auth/principals.ts).
      this.deps.logger.error({ err, userId }, 'could not announce a role change');
    }
  }

  private async accessChanged(userIds: string[]): Promise<void> {
    try {
      await this.deps.onAccessChanged?.(userIds);
    } catch (err) {
      this.deps.logger.error({ err, userIds }, 'could not announce an access change');
    }
  }

  /** ADMIN_EMAIL becomes an admin at start (if registered already) and on registration (AuthService). */
  async promoteConfiguredAdmin(email: string | undefined): Promise<void> {
    if (!email) return;
    const changed = await this.deps.db
      .update(users)
      .set({ role: 'ADMIN' })
      .where(and(eq(sql`lower(${users.email})`, email.toLowerCase()), sql`${users.role} <> 'ADMIN'`))
      .returning({ id: users.id });
    for (const u of changed) {
      await this.roleChanged(u.id);
      this.deps.logger.info({ userId: u.id }, 'ADMIN_EMAIL promoted to admin');
      await this.deps.audit.record({ actorId: null, action: 'user.role_changed', subjectId: u.id, data: { role: 'ADMIN', reason: 'ADMIN_EMAIL' } });
    }
  }

  /** Admin: everyone; advisor: their own clients; a client may not list users. Newest first. */
  async list(
    viewer: Principal,
    opts: { role?: Role | null; search?: string | null; first: number; after?: { createdAt: Date; id: string } | null },
  ): Promise<{ rows: UserRow[]; hasNextPage: boolean }> {
    const conds: SQL[] = [];
    if (viewer.role === 'ADVISOR') conds.push(eq(users.advisorId, viewer.userId));
    else if (viewer.role !== 'ADMIN') throw new ForbiddenError('Only advisors and administrators list users');
    if (opts.role) conds.push(eq(users.role, opts.role));
    const search = opts.search?.trim();
    if (search) {
      if (search.length > 100) throw new BadInputError('search must be at most 100 characters', 'search', 'TOO_LONG');
      const like = `%${search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      conds.push(or(ilike(users.email, like), ilike(users.name, like))!);
    }
    if (opts.after) {
      const a = opts.after;
      conds.push(or(lt(users.createdAt, a.createdAt), and(eq(users.createdAt, a.createdAt), lt(users.id, a.id)))!);
    }
    const rows = await this.deps.db
      .select()
      .from(users)
      .where(and(...conds))
      .orderBy(desc(users.createdAt), desc(users.id))
      .limit(opts.first + 1);
    return { rows: rows.slice(0, opts.first), hasNextPage: rows.length > opts.first };
  }

  /** A user the viewer may see (self, own client, anyone for an admin); anyone else is NOT_FOUND. */
  async get(viewer: Principal, id: string): Promise<UserRow> {
    const u = isUuid(id) ? await this.byId(id) : null;
    if (!u || !allows(viewer, u, 'read')) throw new NotFoundError('User', id);
    return u;
  }

  async byId(id: string): Promise<UserRow | null> {
    const [u] = await this.deps.db.select().from(users).where(eq(users.id, id)).limit(1);
    return u ?? null;
  }

  /** Admin only. Demoting an advisor unassigns their clients; an admin cannot change their own role. */
  async setRole(viewer: Principal, userId: string, role: Role): Promise<UserRow> {
    assertAdmin(viewer);
    if (!ROLES.includes(role)) throw new BadInputError('Unknown role', 'role', 'UNKNOWN_ROLE');
    if (userId === viewer.userId) throw new BadInputError('You cannot change your own role', 'userId', 'SELF_ROLE_CHANGE');
    const target = await this.get(viewer, userId);
    const updated = await this.deps.db.transaction(async (tx) => {
      const [u] = await tx.update(users).set({ role, ...(role === 'CLIENT' ? {} : { advisorId: null }) }).where(eq(users.id, userId)).returning();
      if (target.role === 'ADVISOR' && role !== 'ADVISOR') await tx.update(users).set({ advisorId: null }).where(eq(users.advisorId, userId));
      return u;
    });
    await this.roleChanged(userId);
    // What they read changes (and, for a demoted advisor, their clients' readers): their streams re-check.
    await this.accessChanged([userId]);
    await this.deps.audit.record({ actorId: viewer.userId, action: 'user.role_changed', subjectId: userId, data: { from: target.role, to: role } });
    return updated;
  }

  /** Admin only. The client must be a CLIENT and the advisor an ADVISOR; null unassigns. */
  async assignAdvisor(viewer: Principal, clientId: string, advisorId: string | null): Promise<UserRow> {
    assertAdmin(viewer);
    const client = await this.get(viewer, clientId);
    if (client.role !== 'CLIENT') throw new BadInputError('Only clients have advisors', 'clientId', 'NOT_A_CLIENT');
    if (advisorId) {
      const advisor = await this.get(viewer, advisorId);
      if (advisor.role !== 'ADVISOR') throw new BadInputError('That user is not an advisor', 'advisorId', 'NOT_AN_ADVISOR');
    }
    const [u] = await this.deps.db.update(users).set({ advisorId }).where(eq(users.id, clientId)).returning();
    // The former advisor's open streams of this client's portfolios re-check access (and stop).
    await this.accessChanged([clientId]);
    await this.deps.audit.record({
      actorId: viewer.userId,
      action: advisorId ? 'user.advisor_assigned' : 'user.advisor_unassigned',
      subjectId: clientId,
      data: { from: client.advisorId, to: advisorId },
    });
    return u;
  }

  /** An advisor's clients, for the advisor themselves or an admin. */
  async clientsOf(viewer: Principal, advisor: Pick<UserRow, 'id'>): Promise<UserRow[]> {
    if (viewer.userId !== advisor.id && viewer.role !== 'ADMIN') throw new ForbiddenError("Only the advisor or an administrator sees an advisor's clients");
    return this.deps.db.select().from(users).where(eq(users.advisorId, advisor.id)).orderBy(users.createdAt, users.id);
  }

  /** A user's portfolios for whoever may read them: the user, their advisor, an admin. */
  async portfoliosOf(viewer: Principal, owner: Pick<UserRow, 'id' | 'advisorId'>): Promise<PortfolioRow[]> {
    if (!allows(viewer, owner, 'read')) throw new ForbiddenError("You may not see this user's portfolios");
    return this.deps.db.select().from(portfolios).where(eq(portfolios.ownerId, owner.id)).orderBy(portfolios.createdAt);
  }
}
