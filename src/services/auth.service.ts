import { randomUUID } from 'node:crypto';
import { isUniqueViolation } from '../db/errors.js';
import { and, eq, isNotNull, isNull, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { refreshTokens, users, type Role } from '../db/schema/index.js';
import {
  BadInputError,
  EmailTakenError,
  InvalidCredentialsError,
  InvalidTokenError,
  WeakPasswordError,
} from '../errors.js';
import { burnVerification, hashPassword, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, verifyPassword } from '../auth/passwords.js';
import { hashOpaqueToken, newOpaqueToken, type AccessTokens, type Principal } from '../auth/tokens.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import type { AuditPort } from './people/audit.service.js';

export type UserRow = typeof users.$inferSelect;

export interface AuthResult {
  accessToken: string;
  refreshToken: string;
  user: UserRow;
}

export interface AuthServiceDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  accessTokens: AccessTokens;
  refreshTtlSeconds: number;
  /** Told after a login's refresh family is revoked, so live sockets of that login can be closed. */
  onSessionRevoked?: (sessionId: string) => Promise<void>;
  /** Logins, failures and registrations go to the audit log. */
  audit?: AuditPort;
  /** This email becomes ADMIN on registration (the first administrator). */
  adminEmail?: string;
}

// Practical RFC 5322 subset: one @, no spaces, a dot in the domain, sane lengths.
const EMAIL = /^[^\s@"<>()[\]\\,;:]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;

export function normalizeEmail(email: string): string {
  const e = email.trim().toLowerCase();
  if (e.length > 254 || !EMAIL.test(e)) throw new BadInputError('Email address is not valid', 'email', 'INVALID_EMAIL');
  return e;
}

function checkPassword(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH) throw new WeakPasswordError(MIN_PASSWORD_LENGTH);
  if (password.length > MAX_PASSWORD_LENGTH)
    throw new BadInputError(`Password must be at most ${MAX_PASSWORD_LENGTH} characters`, 'password', 'PASSWORD_TOO_LONG');
}


/** Registration, login and rotating refresh tokens (a reused refresh token revokes its whole family). */
export class AuthService {
  constructor(private readonly deps: AuthServiceDeps) {}

  async register(input: { email: string; password: string; name?: string | null; role?: Role }): Promise<AuthResult> {
    const email = normalizeEmail(input.email);
    checkPassword(input.password);
    const name = input.name?.trim() || null;
    if (name && name.length > 200) throw new BadInputError('Name must be at most 200 characters', 'name');
    // Hash first: a duplicate email then costs the same time as a fresh one.
    const passwordHash = await hashPassword(input.password);
    let user: UserRow;
    try {
      [user] = await this.deps.db
        .insert(users)
        .values({ email, passwordHash, name, role: input.role ?? (this.deps.adminEmail && email === this.deps.adminEmail.toLowerCase() ? 'ADMIN' : 'CLIENT') })
        .returning();
    } catch (err) {
      if (isUniqueViolation(err)) throw new EmailTakenError();
      throw err;
    }
    await this.deps.audit?.record({ actorId: user.id, action: 'auth.registered', subjectId: user.id, data: { role: user.role } });
    return this.issue(user, randomUUID());
  }

  async login(emailInput: string, password: string): Promise<AuthResult> {
    let email: string;
    try {
      email = normalizeEmail(emailInput);
    } catch {
      await burnVerification(password);
      throw new InvalidCredentialsError();
    }
    const [user] = await this.deps.db.select().from(users).where(eq(sql`lower(${users.email})`, email)).limit(1);
    if (!user) {
      await burnVerification(password);
      await this.deps.audit?.record({ actorId: null, action: 'auth.login_failed', data: { email, reason: 'UNKNOWN_EMAIL' } });
      throw new InvalidCredentialsError();
    }
    if (!(await verifyPassword(user.passwordHash, password))) {
      await this.deps.audit?.record({ actorId: null, action: 'auth.login_failed', subjectId: user.id, data: { email, reason: 'WRONG_PASSWORD' } });
      throw new InvalidCredentialsError();
    }
    await this.deps.audit?.record({ actorId: user.id, action: 'auth.login', subjectId: user.id });
    return this.issue(user, randomUUID());
  }

  /**
   * Exchange a refresh token for a new pair. The old token is spent; presenting a spent or revoked token
   * again means it leaked, so the whole family (every token descended from that login) is revoked.
   */
  async refresh(token: string): Promise<AuthResult> {
    const now = this.deps.clock.now();
    const hash = hashOpaqueToken(token);
    const [row] = await this.deps.db.select().from(refreshTokens).where(eq(refreshTokens.tokenHash, hash)).limit(1);
    if (!row) throw new InvalidTokenError();
    if (row.rotatedAt || row.revokedAt) {
      await this.revokeFamily(row.familyId, now);
      this.deps.logger.warn({ userId: row.userId, familyId: row.familyId }, 'refresh token reuse: family revoked');
      throw new InvalidTokenError();
    }
    if (row.expiresAt.getTime() <= now.getTime()) throw new InvalidTokenError();
    // Spend it exactly once, even if two requests race with the same token.
    const spent = await this.deps.db
      .update(refreshTokens)
      .set({ rotatedAt: now })
      .where(and(eq(refreshTokens.id, row.id), isNull(refreshTokens.rotatedAt), isNull(refreshTokens.revokedAt)))
      .returning({ id: refreshTokens.id });
    if (spent.length === 0) {
      await this.revokeFamily(row.familyId, now);
      throw new InvalidTokenError();
    }
    const [user] = await this.deps.db.select().from(users).where(eq(users.id, row.userId)).limit(1);
    if (!user) throw new InvalidTokenError();
    return this.issue(user, row.familyId);
  }

  /** Revoke the family of this refresh token (logout). Unknown tokens are ignored. */
  async logout(token: string): Promise<void> {
    const [row] = await this.deps.db
      .select({ familyId: refreshTokens.familyId })
      .from(refreshTokens)
      .where(eq(refreshTokens.tokenHash, hashOpaqueToken(token)))
      .limit(1);
    if (row) await this.revokeFamily(row.familyId, this.deps.clock.now());
  }

  private async revokeFamily(familyId: string, now: Date): Promise<void> {
    await this.deps.db
      .update(refreshTokens)
      .set({ revokedAt: now })
      .where(and(eq(refreshTokens.familyId, familyId), isNull(refreshTokens.revokedAt)));
    await this.deps.onSessionRevoked?.(familyId);
  }

  /** True when this login (refresh family) was revoked: its access tokens no longer open sockets. */
  async isSessionRevoked(sessionId: string): Promise<boolean> {
    const [row] = await this.deps.db
      .select({ id: refreshTokens.id })
      .from(refreshTokens)
      .where(and(eq(refreshTokens.familyId, sessionId), isNotNull(refreshTokens.revokedAt)))
      .limit(1);
    return Boolean(row);
  }

  private async issue(user: UserRow, familyId: string): Promise<AuthResult> {
    const principal: Principal = { userId: user.id, role: user.role, sessionId: familyId };
    const { token, hash } = newOpaqueToken('rt');
    const expiresAt = new Date(this.deps.clock.now().getTime() + this.deps.refreshTtlSeconds * 1000);
    await this.deps.db.insert(refreshTokens).values({ userId: user.id, familyId, tokenHash: hash, expiresAt });
    return { accessToken: await this.deps.accessTokens.sign(principal), refreshToken: token, user };
  }
}
