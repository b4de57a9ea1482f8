import { and, asc, desc, eq, gt, lt, sql, type SQL } from 'drizzle-orm';
import { jsonRows } from '../../db/batch-sql.js';
import type { Db, DbOrTx, Tx } from '../../db/client.js';
import { auditLog } from '../../db/schema/index.js';
import type { Principal } from '../../auth/tokens.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import { BadInputError } from '../../errors.js';
import { assertAdmin } from './access.policy.js';
import { entryHash, firstBroken, GENESIS_HASH, type StoredAuditEntry } from './audit.chain.js';
import { GroupCommit } from '../../lib/group-commit.js';

export type AuditRow = typeof auditLog.$inferSelect;

export interface AuditRecord {
  actorId?: string | null;
  action: string;
  subjectId?: string | null;
  data?: Record<string, unknown> | null;
}

/** What other services need: record an entry. Recording never fails the caller's action. */
export interface AuditPort {
  record(e: AuditRecord): Promise<void>;
  /** Many entries in one transaction (one lock, one insert), chained in the given order. */
  recordMany?(es: AuditRecord[]): Promise<void>;
  /**
   * Entries written by the caller's own transaction (so they commit or roll back with what they record):
   * takes the chain's lock and reads its last hash at once (the caller pipelines those two statements with
   * its own), then `append` inserts entries linked to it. The lock is held until that transaction ends.
   */
  inTx?(tx: Tx): AuditAppender;
}

/** See {@link AuditPort.inTx}. */
export interface AuditAppender {
  /** Settles once the chain is locked and its last hash read (rejects if the transaction failed). */
  readonly ready: Promise<void>;
  /** Inserts the entries, chained in the given order, at `at`. */
  append(es: AuditRecord[], at: Date): Promise<void>;
  /**
   * The same insert as one data-modifying statement (null for no entries), for the caller to run as a
   * CTE of a statement of its own (`with audit as (…) …`): one statement fewer in its last round trip.
   */
  insertSql(es: AuditRecord[], at: Date): Promise<SQL | null>;
}

// One lock key for the chain: appends are serialised so each entry links to the one before it.
const CHAIN_LOCK = 7_310_021;

/**
 * The append-only, hash-chained audit log. Appends take a transaction-scoped advisory lock, read the
 * last hash and insert the new entry linked to it, so concurrent appenders (any process) form one chain.
 */
export class AuditService implements AuditPort {
  constructor(private readonly deps: { db: Db; clock: Clock; logger: Logger }) {}

  /**
   * Records arriving together (e.g. concurrent order placements) are chained in one transaction: one
   * lock, one read of the last hash, one insert (group commit), instead of a serialised transaction each.
   */
  private readonly batch = new GroupCommit<AuditRecord, void>(
    async (es) => {
      await this.appendMany(es);
      return es.map(() => undefined);
    },
    { maxBatch: 500, maxInFlight: 1 },
  );

  async record(e: AuditRecord): Promise<void> {
    try {
      await this.batch.push(e);
    } catch (err) {
      this.deps.logger.error({ err, action: e.action }, 'audit append failed');
    }
  }

  async recordMany(es: AuditRecord[]): Promise<void> {
    if (es.length === 0) return;
    try {
      await this.appendMany(es);
    } catch (err) {
      this.deps.logger.error({ err, entries: es.length }, 'audit append failed');
    }
  }

  private async appendMany(es: AuditRecord[]): Promise<void> {
    const at = this.deps.clock.now();
    await this.deps.db.transaction(async (tx) => {
      const chain = this.inTx(tx);
      await chain.ready;
      await chain.append(es, at);
    });
  }

  inTx(tx: Tx): AuditAppender {
    // Two statements sent together: the second runs once the lock is held, with a snapshot taken then
    // (READ COMMITTED), so it sees the last entry of whoever held the lock before. One statement would
    // read with a snapshot taken before its wait for the lock, and could link to a stale hash.
    const locked = Promise.resolve(tx.execute(sql`select pg_advisory_xact_lock(${CHAIN_LOCK})`));
    const last = Promise.resolve(lastHash(tx));
    const ready = Promise.all([locked, last]).then(() => undefined);
    ready.catch(() => undefined); // the caller awaits it, or its transaction has failed already
    const chained = async (es: AuditRecord[], at: Date) => {
      let prevHash = (await Promise.all([locked, last]))[1];
      return es.map((e) => {
        const content = { at, actorId: e.actorId ?? null, action: e.action, subjectId: e.subjectId ?? null, data: e.data ?? null };
        const row = { ...content, prevHash, hash: entryHash(prevHash, content) };
        prevHash = row.hash;
        return row;
      });
    };
    return {
      ready,
      append: async (es, at) => {
        if (es.length === 0) return;
        const rows = await chained(es, at);
        // bigserial ids follow the order of the VALUES list, so the chain order is the id order.
        for (let i = 0; i < rows.length; i += 500) await tx.insert(auditLog).values(rows.slice(i, i + 500));
      },
      insertSql: async (es, at) => {
        if (es.length === 0) return null;
        const rows = (await chained(es, at)).map((r, i) => ({ i, at: r.at.toISOString(), actor: r.actorId, action: r.action, subject: r.subjectId, data: r.data, prev: r.prevHash, hash: r.hash }));
        // Ids are drawn in the `order by` order, so the chain order is the id order here too.
        return sql`insert into audit_log (at, actor_id, action, subject_id, data, prev_hash, hash)
          select v.at, v.actor, v.action, v.subject, nullif(v.data, 'null'::jsonb), v.prev, v.hash
          from jsonb_to_recordset(${jsonRows(rows)}) as v(i int, at timestamptz, actor uuid, action text, subject text, data jsonb, prev text, hash text)
          order by v.i`;
      },
    };
  }

  async append(e: AuditRecord): Promise<AuditRow> {
    // Microsecond-exact in Postgres and in JS alike: keep whole milliseconds.
    const at = this.deps.clock.now();
    const content = { at, actorId: e.actorId ?? null, action: e.action, subjectId: e.subjectId ?? null, data: e.data ?? null };
    return this.deps.db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(${CHAIN_LOCK})`);
      const prevHash = await lastHash(tx);
      const [row] = await tx.insert(auditLog).values({ ...content, prevHash, hash: entryHash(prevHash, content) }).returning();
      return row;
    });
  }

  async list(
    viewer: Principal,
    opts: { userId?: string | null; action?: string | null; first: number; after?: string | null },
  ): Promise<{ rows: AuditRow[]; hasNextPage: boolean }> {
    assertAdmin(viewer);
    const conds: SQL[] = [];
    if (opts.userId) conds.push(eq(auditLog.actorId, opts.userId));
    if (opts.action) conds.push(eq(auditLog.action, opts.action));
    if (opts.after) {
      const id = Number(opts.after);
      if (!Number.isSafeInteger(id) || id < 1) throw new BadInputError('Invalid cursor', 'after', 'INVALID_CURSOR');
      conds.push(lt(auditLog.id, id));
    }
    const rows = await this.deps.db
      .select()
      .from(auditLog)
      .where(conds.length ? and(...conds) : undefined)
      .orderBy(desc(auditLog.id))
      .limit(opts.first + 1);
    return { rows: rows.slice(0, opts.first), hasNextPage: rows.length > opts.first };
  }

  /** Recompute the whole chain in order; the first entry that does not match, if any. */
  async verify(viewer: Principal): Promise<{ valid: boolean; entries: number; firstBrokenId: string | null }> {
    assertAdmin(viewer);
    let prev = GENESIS_HASH;
    let after = 0;
    let entries = 0;
    for (;;) {
      const rows = await this.deps.db.select().from(auditLog).where(gt(auditLog.id, after)).orderBy(asc(auditLog.id)).limit(1000);
      if (rows.length === 0) break;
      entries += rows.length;
      const r = firstBroken(rows as StoredAuditEntry[], prev);
      if (r.brokenId !== null) return { valid: false, entries, firstBrokenId: String(r.brokenId) };
      prev = r.lastHash;
      after = rows[rows.length - 1].id;
    }
    return { valid: true, entries, firstBrokenId: null };
  }
}

async function lastHash(tx: DbOrTx): Promise<string> {
  const [last] = await tx.select({ hash: auditLog.hash }).from(auditLog).orderBy(desc(auditLog.id)).limit(1);
  return last?.hash ?? GENESIS_HASH;
}
