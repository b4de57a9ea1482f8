import { eq, sql } from 'drizzle-orm';
import { builtOnce } from '../db/built-once.js';
import type { Db } from '../db/client.js';
import { users } from '../db/schema/index.js';
import { API_KEY_PREFIX, type ApiKeyService } from './api-keys.service.js';
import type { AccessTokens, Principal } from './tokens.js';
import type { OidcVerifier } from './oidc.js';
import type { PubSub, Unsubscribe } from '../events/pubsub.js';
import { systemClock, type Clock } from '../lib/clock.js';
import { setBounded } from '../lib/bounded-map.js';

/**
 * How long a user's role, once read, answers their requests without a query. A change made through
 * PeopleService is forgotten at once (in this process directly, in the others by the `user-role-changed`
 * topic); this bounds only what a lost message, or a change written to the table by hand, can leave.
 */
export const ROLE_KEPT_MS = 5_000;

/** Users whose role one process keeps, at most (the oldest dropped first). */
const ROLES_KEPT_MAX = 50_000;

/**
 * One door from a bearer credential to a principal, the same for HTTP and sockets: an API key (`tg_…`),
 * an OIDC token from the configured issuer, or our own access token. The role comes from the database;
 * once this process listens to `user-role-changed` ({@link start}), a role read is kept for
 * {@link ROLE_KEPT_MS} and forgotten as soon as a change is announced, so a role change still takes
 * effect on the next request (on another replica: once the announcement reached it).
 */
export class PrincipalResolver {
  /** Roles read, by user, until when they may answer without a query (only while listening). */
  private readonly kept = new Map<string, { role: Principal['role']; until: number }>();
  /** Bumped by every forgotten role: a lookup that began before a change must not be kept. */
  private changes = 0;
  private unsubscribe: Unsubscribe | null = null;

  /**
   * Role lookups in flight by user: requests of one user arriving together share one query (a dashboard
   * fires several at once). Nothing is kept after the query answers, so a role change takes effect on
   * the next request (at most one lookup's round trip later: one that began before the change answers
   * the requests that joined it).
   */
  private readonly roles = new Map<string, Promise<{ role: Principal['role'] } | undefined>>();

  constructor(
    private readonly deps: { db: Db; accessTokens: AccessTokens; apiKeys: ApiKeyService; oidc?: OidcVerifier | null; pubsub?: PubSub; clock?: Clock },
  ) {}

  /** Listen to role changes of every process; from then on roles read are kept (see ROLE_KEPT_MS). */
  async start(): Promise<void> {
    if (!this.deps.pubsub || this.unsubscribe) return;
    this.unsubscribe = await this.deps.pubsub.subscribe('user-role-changed', '*', ({ userId }) => this.forget(userId));
  }

  async stop(): Promise<void> {
    const u = this.unsubscribe;
    this.unsubscribe = null;
    this.kept.clear();
    await u?.();
  }

  /** This user's role changed: the next request reads it again (and no lookup begun before keeps it). */
  forget(userId: string): void {
    this.changes++;
    this.kept.delete(userId);
    this.roles.delete(userId);
  }

  /** null for a bad, expired, revoked or unknown credential. */
  async resolve(token: string): Promise<Principal | null> {
    if (token.startsWith(`${API_KEY_PREFIX}_`)) return this.deps.apiKeys.authenticate(token);
    const oidc = this.deps.oidc;
    if (oidc?.claims(token)) return oidc.authenticate(token);
    const p = await this.deps.accessTokens.verify(token);
    if (!p) return null;
    const u = await this.roleOf(p.userId);
    // Keep the token's login id and expiry: sockets close on them (4401, 4403).
    return u ? { ...p, role: u.role, via: 'token' } : null;
  }

  private roleOf(userId: string): Promise<{ role: Principal['role'] } | undefined> | { role: Principal['role'] } {
    const now = (this.deps.clock ?? systemClock).now().getTime();
    const hit = this.kept.get(userId);
    if (hit) {
      if (hit.until > now) return { role: hit.role };
      this.kept.delete(userId);
    }
    let q = this.roles.get(userId);
    if (!q) {
      const changes = this.changes;
      const lookup = (async () => {
        const db = this.deps.db;
        const q = builtOnce(db, 'role-of', () => db.select({ role: users.role }).from(users).where(eq(users.id, sql.placeholder('id'))).limit(1).prepare('role_of'));
        const [u] = await q.execute({ id: userId });
        // Kept only while listening for changes, and only if none was announced during the lookup.
        if (u && this.unsubscribe && changes === this.changes) {
          setBounded(this.kept, userId, { role: u.role, until: now + ROLE_KEPT_MS }, ROLES_KEPT_MAX);
        }
        return u;
      })();
      this.roles.set(userId, lookup);
      const done = () => {
        if (this.roles.get(userId) === lookup) this.roles.delete(userId);
      };
      lookup.then(done, done);
      q = lookup;
    }
    return q;
  }
}
