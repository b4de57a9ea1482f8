import { and, desc, eq, isNull } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { apiKeys, users } from '../db/schema/index.js';
import { BadInputError, NotFoundError } from '../errors.js';
import type { Clock } from '../lib/clock.js';
import type { AuditPort } from '../services/people/audit.service.js';
import { assertInteractive, isUuid } from '../services/people/access.policy.js';
import { hashOpaqueToken, newOpaqueToken, type ApiKeyScope, type Principal } from './tokens.js';

export type ApiKeyRow = typeof apiKeys.$inferSelect;

export const API_KEY_PREFIX = 'tg';
const SCOPES: readonly ApiKeyScope[] = ['READ', 'TRADE'];
const MAX_KEYS_PER_USER = 50;
/** lastUsedAt is written at most this often per key, so a busy bot does not write on every request. */
const LAST_USED_RESOLUTION_MS = 1000;

/** API keys for bots and schedulers: `tg_…`, shown once, stored as a SHA-256 hash, revocable at once. */
export class ApiKeyService {
  constructor(private readonly deps: { db: Db; clock: Clock; audit: AuditPort }) {}

  async create(viewer: Principal, nameInput: string, scopesInput: ApiKeyScope[]): Promise<{ apiKey: ApiKeyRow; secret: string }> {
    assertInteractive(viewer);
    const name = nameInput.trim();
    if (!name || name.length > 100) throw new BadInputError('name must be 1–100 characters', 'name', 'INVALID_NAME');
    const scopes = [...new Set(scopesInput)];
    if (scopes.length === 0 || scopes.some((s) => !SCOPES.includes(s))) throw new BadInputError('Give at least one scope: READ or TRADE', 'scopes', 'INVALID_SCOPES');
    // A TRADE key can read too.
    if (scopes.includes('TRADE') && !scopes.includes('READ')) scopes.unshift('READ');
    const live = await this.deps.db.select({ id: apiKeys.id }).from(apiKeys).where(and(eq(apiKeys.userId, viewer.userId), isNull(apiKeys.revokedAt)));
    if (live.length >= MAX_KEYS_PER_USER) throw new BadInputError(`At most ${MAX_KEYS_PER_USER} active keys`, 'name', 'TOO_MANY_KEYS');
    const { token, hash } = newOpaqueToken(API_KEY_PREFIX);
    const [apiKey] = await this.deps.db
      .insert(apiKeys)
      .values({ userId: viewer.userId, name, prefix: token.slice(0, 11), keyHash: hash, scopes, createdAt: this.deps.clock.now() })
      .returning();
    await this.deps.audit.record({ actorId: viewer.userId, action: 'api_key.created', subjectId: apiKey.id, data: { name, scopes, prefix: apiKey.prefix } });
    return { apiKey, secret: token };
  }

  async list(viewer: Principal): Promise<ApiKeyRow[]> {
    return this.deps.db.select().from(apiKeys).where(eq(apiKeys.userId, viewer.userId)).orderBy(desc(apiKeys.createdAt));
  }

  /** Revoke one of your keys; it stops working on the next request. Revoking twice keeps the first time. */
  async revoke(viewer: Principal, id: string): Promise<ApiKeyRow> {
    assertInteractive(viewer);
    const [k] = isUuid(id) ? await this.deps.db.select().from(apiKeys).where(and(eq(apiKeys.id, id), eq(apiKeys.userId, viewer.userId))) : [];
    if (!k) throw new NotFoundError('ApiKey', id);
    if (k.revokedAt) return k;
    const [r] = await this.deps.db.update(apiKeys).set({ revokedAt: this.deps.clock.now() }).where(eq(apiKeys.id, id)).returning();
    await this.deps.audit.record({ actorId: viewer.userId, action: 'api_key.revoked', subjectId: id, data: { prefix: k.prefix } });
    return r;
  }

  /** The principal for a presented key, or null if unknown or revoked. Touches lastUsedAt. */
  async authenticate(token: string): Promise<Principal | null> {
    const [row] = await this.deps.db
      .select({ id: apiKeys.id, userId: apiKeys.userId, scopes: apiKeys.scopes, revokedAt: apiKeys.revokedAt, lastUsedAt: apiKeys.lastUsedAt, role: users.role })
      .from(apiKeys)
      .innerJoin(users, eq(users.id, apiKeys.userId))
      .where(eq(apiKeys.keyHash, hashOpaqueToken(token)))
      .limit(1);
    if (!row || row.revokedAt) return null;
    const now = this.deps.clock.now();
    if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() >= LAST_USED_RESOLUTION_MS) {
      await this.deps.db.update(apiKeys).set({ lastUsedAt: now }).where(eq(apiKeys.id, row.id));
    }
    return { userId: row.userId, role: row.role, scopes: row.scopes as ApiKeyScope[], apiKeyId: row.id, via: 'apiKey' };
  }

  /** Still valid? (sockets check before each new operation, so a revoked key stops at once). */
  async isActive(id: string): Promise<boolean> {
    const [k] = await this.deps.db.select({ revokedAt: apiKeys.revokedAt }).from(apiKeys).where(eq(apiKeys.id, id));
    return Boolean(k && !k.revokedAt);
  }
}
