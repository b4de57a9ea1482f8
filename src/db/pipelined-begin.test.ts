import { describe, expect, it } from 'vitest';
import { pipelinedBegin, TransactionAbortedError, type Reserved } from './pipelined-begin.js';

/** A reserved connection that records what is handed to it and answers only when told to. */
function fakeConnection(commitTag = 'COMMIT') {
  const sent: string[] = [];
  const answers = new Map<string, () => void>();
  let released = 0;
  const conn = {
    unsafe(query: string): ReturnType<Reserved['unsafe']> {
      let answer!: (v: { command: string }) => void;
      const p = new Promise<{ command: string }>((r) => (answer = r));
      const handed = () => {
        sent.push(query);
        // BEGIN waits for the test; everything else is answered at once.
        if (query === 'begin') answers.set(query, () => answer({ command: 'BEGIN' }));
        else answer({ command: query === 'commit' ? commitTag : query.toUpperCase() });
      };
      let executed = false;
      // A thenable, not a promise (postgres.js's queries run when first awaited or executed).
      const q = {
        execute() {
          if (!executed) {
            executed = true;
            // As postgres.js does: handed to the connection one microtask after execute().
            void Promise.resolve().then(handed);
          }
          return q;
        },
        then(a?: ((v: { command: string }) => unknown) | null, b?: ((e: unknown) => unknown) | null) {
          q.execute();
          return p.then(a, b);
        },
      };
      return q as unknown as ReturnType<Reserved['unsafe']>;
    },
    release: () => void released++,
  };
  return { conn, sent, answers, released: () => released };
}

describe('pipelinedBegin: BEGIN travels with the first statements', () => {
  it('hands the body\'s statements to the connection before BEGIN has answered, then commits', async () => {
    const c = fakeConnection();
    const tx = pipelinedBegin(async () => c.conn, async (t) => {
      const first = t.unsafe('select 1');
      expect(c.sent).toEqual(['begin']); // BEGIN first, on the wire, unanswered
      await first;
      expect(c.answers.has('begin')).toBe(true);
      return 'done';
    });
    await new Promise((r) => setTimeout(r, 5));
    expect(c.sent).toEqual(['begin', 'select 1']); // both out while BEGIN still waits for its answer
    c.answers.get('begin')!();
    await expect(tx).resolves.toBe('done');
    expect(c.sent).toEqual(['begin', 'select 1', 'commit']);
    expect(c.released()).toBe(1);
  });

  it('rolls back and rethrows when the body throws, and releases the connection', async () => {
    const c = fakeConnection();
    const boom = new Error('boom');
    const tx = pipelinedBegin(async () => c.conn, async () => {
      throw boom;
    }).then(
      () => null,
      (err: unknown) => err,
    );
    await new Promise((r) => setTimeout(r, 5));
    c.answers.get('begin')!();
    expect(await tx).toBe(boom);
    expect(c.sent).toEqual(['begin', 'rollback']);
    expect(c.released()).toBe(1);
  });

  it('fails when Postgres answers COMMIT with ROLLBACK (a statement nobody awaited failed)', async () => {
    const c = fakeConnection('ROLLBACK');
    const tx = pipelinedBegin(async () => c.conn, async () => 1).then(
      () => null,
      (err: unknown) => err,
    );
    await new Promise((r) => setTimeout(r, 5));
    c.answers.get('begin')!();
    expect(await tx).toBeInstanceOf(TransactionAbortedError);
    expect(c.released()).toBe(1);
  });
});
