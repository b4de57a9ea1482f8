import { createHash, randomBytes } from 'node:crypto';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import type { Role } from '../db/schema/index.js';
import { setBounded } from '../lib/bounded-map.js';

/** Who is calling: resolved from an access token or an API key, the same on HTTP and on sockets. */
export interface Principal {
  userId: string;
  role: Role;
  /** The login (refresh-token family) this access token belongs to, when it came from one. */
  sessionId?: string;
  /** When the access token stops being valid (ms since epoch), when it came from one. */
  expiresAtMs?: number;
  /** Set when the caller authenticated with an API key: its scopes (READ, TRADE). */
  scopes?: ApiKeyScope[];
  apiKeyId?: string;
  /** How the caller authenticated. */
  via?: 'token' | 'apiKey' | 'oidc';
}

export type ApiKeyScope = 'READ' | 'TRADE';

const ISSUER = 'tradegraph';
const AUDIENCE = 'tradegraph-api';

/** Verified tokens kept, at most (oldest dropped first). */
const VERIFIED_CACHE_SIZE = 10_000;

export class AccessTokens {
  /**
   * Tokens whose signature and claims were verified, until they expire: a dashboard sends the same
   * token on every request, and an HMAC check plus claim parsing per request is the largest fixed cost
   * of a small read. A token is immutable, so a cached verdict is the same verdict; expiry is checked
   * on every use. Only valid tokens are kept (a flood of bad ones cannot evict them wholesale).
   */
  private readonly verified = new Map<string, Principal>();

  constructor(
    private readonly secret: Uint8Array,
    private readonly ttlSeconds: number,
    private readonly now: () => number = Date.now,
  ) {}

  async sign(p: Principal): Promise<string> {
    return new SignJWT({ role: p.role, ...(p.sessionId ? { sid: p.sessionId } : {}) })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(p.userId)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(`${this.ttlSeconds}s`)
      .sign(this.secret);
  }

  /** The principal, or null for any invalid, expired or tampered token (callers decide the error). */
  async verify(token: string): Promise<Principal | null> {
    const hit = this.verified.get(token);
    if (hit) {
      if (hit.expiresAtMs !== undefined && hit.expiresAtMs > this.now()) return { ...hit };
      this.verified.delete(token);
      return null;
    }
    const p = await this.verifyOnce(token);
    // Only tokens with an expiry are cached (ours always have one).
    if (p && p.expiresAtMs !== undefined) {
      setBounded(this.verified, token, p, VERIFIED_CACHE_SIZE);
    }
    return p ? { ...p } : null;
  }

  private async verifyOnce(token: string): Promise<Principal | null> {
    try {
      const { payload } = await jwtVerify(token, this.secret, { issuer: ISSUER, audience: AUDIENCE, algorithms: ['HS256'] });
      const role = payload.role;
      if (typeof payload.sub !== 'string' || (role !== 'CLIENT' && role !== 'ADVISOR' && role !== 'ADMIN')) return null;
      return {
        userId: payload.sub,
        role,
        ...(typeof payload.sid === 'string' ? { sessionId: payload.sid } : {}),
        ...(typeof payload.exp === 'number' ? { expiresAtMs: payload.exp * 1000 } : {}),
      };
    } catch (err) {
      if (err instanceof joseErrors.JOSEError) return null;
      throw err;
    }
  }
}

/** An opaque random token (refresh token, API key) and the hash we store instead of it. */
export function newOpaqueToken(prefix: string): { token: string; hash: string } {
  const token = `${prefix}_${randomBytes(32).toString('base64url')}`;
  return { token, hash: hashOpaqueToken(token) };
}

export function hashOpaqueToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** `Authorization: Bearer x` → x (case-insensitive scheme), else null. */
export function bearer(header: string | undefined | null): string | null {
  if (!header) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1] : null;
}
