import { eq, sql } from 'drizzle-orm';
import { builtOnce } from '../db/built-once.js';
import type { Db } from '../db/client.js';
import { users } from '../db/schema/index.js';
import { API_KEY_PREFIX, type ApiKeyService } from './api-keys.service.js';
import type { AccessTokens, Principal } from './tokens.js';
import type { OidcVerifier } from './oidc.js';

/**
 * One door from a bearer credential to a principal, the same for HTTP and sockets: an API key (`tg_…`),
 * an OIDC token from the configured issuer, or our own access token. The role always comes from the
 * database, so a role change takes effect on the next request.
 */
export class PrincipalResolver {
  /**
   * Role lookups in flight by user: requests of one user arriving together share one query (a dashboard
   * fires several at once). Nothing is kept after the query answers, so a role change takes effect on
   * the next request (at most one lookup's round trip later: one that began before the change answers
   * the requests that joined it).
   */
  private readonly roles = new Map<string, Promise<{ role: Principal['role'] } | undefined>>();

  constructor(
    private readonly deps: { db: Db; accessTokens: AccessTokens; apiKeys: ApiKeyService; oidc?: OidcVerifier | null },
  ) {}

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

  private roleOf(userId: string): Promise<{ role: Principal['role'] } | undefined> {
    let q = this.roles.get(userId);
    if (!q) {
      q = (async () => {
        try {
          const db = this.deps.db;
          const q = builtOnce(db, 'role-of', () => db.select({ role: users.role }).from(users).where(eq(users.id, sql.placeholder('id'))).limit(1).prepare('role_of'));
          const [u] = await q.execute({ id: userId });
          return u;
        } finally {
          this.roles.delete(userId);
        }
      })();
      this.roles.set(userId, q);
    }
    return q;
  }
}
