import { createHash } from 'node:crypto';

/** The hash of the entry before the first one. */
export const GENESIS_HASH = '0'.repeat(64);

export interface AuditContent {
  at: Date;
  actorId: string | null;
  action: string;
  subjectId: string | null;
  data: Record<string, unknown> | null;
}

/** JSON with object keys sorted at every level, so the stored jsonb (which reorders keys) hashes the same. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v ?? null);
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
}

/** sha256(previous hash + canonical content): changing, removing or reordering any entry breaks every later link. */
export function entryHash(prevHash: string, e: AuditContent): string {
  const body = canonicalJson({ at: e.at.toISOString(), actorId: e.actorId, action: e.action, subjectId: e.subjectId, data: e.data });
  return createHash('sha256').update(prevHash).update('\n').update(body).digest('hex');
}

export interface StoredAuditEntry extends AuditContent {
  id: number;
  prevHash: string;
  hash: string;
}

/**
 * Walk entries in order from `prevHash`: the first entry whose link or content does not match, or null.
 * Returns the last good hash so a long log can be verified in batches.
 */
export function firstBroken(entries: StoredAuditEntry[], prevHash: string): { brokenId: number | null; lastHash: string } {
  let prev = prevHash;
  for (const e of entries) {
    if (e.prevHash !== prev || entryHash(prev, e) !== e.hash) return { brokenId: e.id, lastHash: prev };
    prev = e.hash;
  }
  return { brokenId: null, lastHash: prev };
}
