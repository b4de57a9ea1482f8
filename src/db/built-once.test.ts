import { describe, expect, it } from 'vitest';
import { builtOnce } from './built-once.js';

describe('builtOnce: a hot query built once per database handle', () => {
  it('builds a key once per handle and hands back the same query after', () => {
    const db = {};
    let builds = 0;
    const a = builtOnce(db, 'q', () => ({ n: ++builds }));
    const b = builtOnce(db, 'q', () => ({ n: ++builds }));
    expect(b).toBe(a);
    expect(builds).toBe(1);
  });

  it('keeps different keys and different handles (a transaction, another database) apart', () => {
    const db = {};
    const tx = {};
    const q1 = builtOnce(db, 'q1', () => ({ for: 'db q1' }));
    const q2 = builtOnce(db, 'q2', () => ({ for: 'db q2' }));
    const t1 = builtOnce(tx, 'q1', () => ({ for: 'tx q1' }));
    expect([q1.for, q2.for, t1.for]).toEqual(['db q1', 'db q2', 'tx q1']);
  });
});
