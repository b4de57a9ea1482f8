import { describe, expect, it } from 'vitest';
import { canonicalJson, entryHash, firstBroken, GENESIS_HASH, type StoredAuditEntry } from './audit.chain.js';

function chain(n: number): StoredAuditEntry[] {
  const out: StoredAuditEntry[] = [];
  let prev = GENESIS_HASH;
  for (let i = 1; i <= n; i++) {
    const content = { at: new Date(Date.UTC(2026, 0, 5, 9, 15, i)), actorId: 'u1', action: 'auth.login', subjectId: null, data: { n: i, ip: 'x' } };
    const hash = entryHash(prev, content);
    out.push({ ...content, id: i, prevHash: prev, hash });
    prev = hash;
  }
  return out;
}

describe('the audit hash chain', () => {
  it('hashes the same content the same whatever the key order (jsonb reorders keys)', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: null } })).toBe(canonicalJson({ a: { c: null, d: [1, { x: 1, y: 2 }] }, b: 1 }));
  });

  it('verifies an untouched chain', () => {
    expect(firstBroken(chain(5), GENESIS_HASH).brokenId).toBeNull();
  });

  it('finds the first entry whose data was edited', () => {
    const c = chain(5);
    c[2] = { ...c[2], data: { n: 99, ip: 'x' } };
    expect(firstBroken(c, GENESIS_HASH).brokenId).toBe(3);
  });

  it('finds the entry after a deleted one', () => {
    const c = chain(5);
    c.splice(1, 1);
    expect(firstBroken(c, GENESIS_HASH).brokenId).toBe(3);
  });

  it('finds an entry whose hash was recomputed without relinking the next one', () => {
    const c = chain(4);
    const forged = { ...c[1], action: 'auth.logout' };
    c[1] = { ...forged, hash: entryHash(forged.prevHash, forged) };
    expect(firstBroken(c, GENESIS_HASH).brokenId).toBe(3);
  });
});
