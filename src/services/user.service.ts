import { eq, sql } from 'drizzle-orm';
import { builtOnce } from '../db/built-once.js';
import { uuidArray } from '../db/batch-sql.js';
import type { Db } from '../db/client.js';
import { users } from '../db/schema/index.js';
import { NotFoundError } from '../errors.js';
import type { Principal } from '../auth/tokens.js';

export type UserRow = typeof users.$inferSelect;

/** Who may see whom: self; an advisor their assigned clients; an admin everyone (the one access policy). */
export { canSeeUser } from './people/access.policy.js';
import { canSeeUser } from './people/access.policy.js';

export class UserService {
  constructor(private readonly deps: { db: Db }) {}

  async byId(id: string): Promise<UserRow | null> {
    const db = this.deps.db;
    const [u] = await builtOnce(db, 'user-by-id', () => db.select().from(users).where(eq(users.id, sql.placeholder('id'))).limit(1).prepare('user_by_id')).execute({ id });
    return u ?? null;
  }

  /** Many users in one statement (the per-request user loader's batch); an id with no user is absent. */
  async byIds(ids: readonly string[]): Promise<Map<string, UserRow>> {
    if (ids.length === 0) return new Map();
    const rows = await this.deps.db.select().from(users).where(sql`${users.id} = any(${uuidArray([...new Set(ids)])})`);
    return new Map(rows.map((u) => [u.id, u]));
  }

  /** The user as `viewer` may see them; someone they may not see is NOT_FOUND, never leaked. */
  async get(viewer: Principal, id: string): Promise<UserRow> {
    const u = await this.byId(id);
    if (!u || !canSeeUser(viewer, u)) throw new NotFoundError('User', id);
    return u;
  }
}
