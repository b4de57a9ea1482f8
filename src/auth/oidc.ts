import { createHash } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import { createRemoteJWKSet, decodeJwt, jwtVerify, errors as joseErrors, type JWTPayload } from 'jose';
import type { Db } from '../db/client.js';
import { userIdentities, users } from '../db/schema/index.js';
import type { Logger } from '../lib/logger.js';
import type { AuditPort } from '../services/people/audit.service.js';
import type { Principal } from './tokens.js';

export interface OidcOptions {
  issuer: string;
  audience?: string;
  autoProvision: boolean;
  /** Minimum time between two JWKS fetches (an unknown kid refetches once this has passed). */
  jwksCooldownMs: number;
}

interface Discovery {
  issuer: string;
  jwks_uri: string;
}

/**
 * Bearer JWTs from one external OpenID Connect issuer: the discovery document gives the JWKS URI; keys
 * come from jose's remote JWK set (cached; an unknown `kid` triggers a refetch, at most once per
 * cooldown). A verified token maps to a user by (issuer, subject), created on first use when
 * auto-provisioning is on.
 */
export class OidcVerifier {
  private jwks: Promise<ReturnType<typeof createRemoteJWKSet>> | undefined;

  constructor(
    private readonly deps: { db: Db; logger: Logger; audit: AuditPort },
    private readonly opts: OidcOptions,
  ) {}

  /** Does this look like a token from our issuer (unverified peek, used only to route)? */
  claims(token: string): boolean {
    if (token.split('.').length !== 3) return false;
    try {
      return sameIssuer(decodeJwt(token).iss, this.opts.issuer);
    } catch {
      return false;
    }
  }

  async authenticate(token: string): Promise<Principal | null> {
    let payload: JWTPayload;
    try {
      const jwks = await this.keySet();
      ({ payload } = await jwtVerify(token, jwks, {
        issuer: [this.opts.issuer, withoutSlash(this.opts.issuer), `${withoutSlash(this.opts.issuer)}/`],
        ...(this.opts.audience ? { audience: this.opts.audience } : {}),
        algorithms: ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384', 'EdDSA'],
      }));
    } catch (err) {
      if (err instanceof joseErrors.JOSEError) return null;
      this.deps.logger.warn({ err }, 'OIDC verification failed');
      return null;
    }
    if (typeof payload.sub !== 'string' || !payload.sub) return null;
    const issuer = withoutSlash(this.opts.issuer);
    const userId = (await this.linked(issuer, payload.sub)) ?? (this.opts.autoProvision ? await this.provision(issuer, payload) : null);
    if (!userId) return null;
    const [u] = await this.deps.db.select({ role: users.role }).from(users).where(eq(users.id, userId)).limit(1);
    return u ? { userId, role: u.role, via: 'oidc' } : null;
  }

  private keySet() {
    this.jwks ??= this.discover().catch((err) => {
      this.jwks = undefined; // try discovery again on the next request
      throw err;
    });
    return this.jwks;
  }

  private async discover() {
    const url = `${withoutSlash(this.opts.issuer)}/.well-known/openid-configuration`;
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) throw new Error(`OIDC discovery ${url}: HTTP ${res.status}`);
    const doc = (await res.json()) as Discovery;
    if (!sameIssuer(doc.issuer, this.opts.issuer) || typeof doc.jwks_uri !== 'string') throw new Error('OIDC discovery document does not match OIDC_ISSUER');
    return createRemoteJWKSet(new URL(doc.jwks_uri), { cooldownDuration: this.opts.jwksCooldownMs, cacheMaxAge: 10 * 60_000 });
  }

  private async linked(issuer: string, subject: string): Promise<string | null> {
    const [l] = await this.deps.db
      .select({ userId: userIdentities.userId })
      .from(userIdentities)
      .where(and(eq(userIdentities.issuer, issuer), eq(userIdentities.subject, subject)))
      .limit(1);
    return l?.userId ?? null;
  }

  /**
   * A new CLIENT linked to (issuer, subject). An email already used by another account is NOT linked
   * (that would let the issuer take over a local account): the new user gets a synthetic address.
   */
  private async provision(issuer: string, payload: JWTPayload): Promise<string | null> {
    const subject = payload.sub!;
    const claimed = typeof payload.email === 'string' && payload.email_verified !== false ? payload.email.trim().toLowerCase() : null;
    const synthetic = `oidc-${createHash('sha256').update(`${issuer}|${subject}`).digest('hex').slice(0, 24)}@oidc.invalid`;
    const name = typeof payload.name === 'string' ? payload.name.slice(0, 200) : null;
    try {
      const id = await this.deps.db.transaction(async (tx) => {
        const taken = claimed ? await tx.select({ id: users.id }).from(users).where(eq(sql`lower(${users.email})`, claimed)).limit(1) : [];
        const email = claimed && taken.length === 0 ? claimed : synthetic;
        // '!' is not an argon2 hash: password login is impossible for this account.
        const [u] = await tx.insert(users).values({ email, passwordHash: '!', name, role: 'CLIENT' }).returning({ id: users.id });
        await tx.insert(userIdentities).values({ userId: u.id, issuer, subject });
        return u.id;
      });
      await this.deps.audit.record({ actorId: id, action: 'user.provisioned_oidc', subjectId: id, data: { issuer, subject } });
      return id;
    } catch (err) {
      // Two first requests racing: the other one linked it.
      const id = await this.linked(issuer, subject);
      if (id) return id;
      throw err;
    }
  }
}

function withoutSlash(s: string): string {
  return s.replace(/\/+$/, '');
}

function sameIssuer(a: unknown, b: string): boolean {
  return typeof a === 'string' && withoutSlash(a) === withoutSlash(b);
}
