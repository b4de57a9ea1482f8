import { eq } from 'drizzle-orm';
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
    const [u] = await this.deps.db.select({ role: users.role }).from(users).where(eq(users.id, p.userId)).limit(1);
    // Keep the token's login id and expiry: sockets close on them (4401, 4403).
    return u ? { ...p, role: u.role, via: 'token' } : null;
  }
}
