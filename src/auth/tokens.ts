import { createHash, randomBytes } from 'node:crypto';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import type { Role } from '../db/schema/index.js';

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

export class AccessTokens {
  constructor(
    private readonly secret: Uint8Array,
    private readonly ttlSeconds: number,
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
