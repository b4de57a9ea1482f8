import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Db, Tx } from '../../src/db/client.js';
import { rowsOf } from '../../src/db/batch-sql.js';

/** The plan `explain execute <name>(<args>)` prints for a prepared statement, as one text (both modes). */
export async function explainExecute(q: Db | Tx, name: string, args: string): Promise<string> {
  return rowsOf<Record<string, string>>(await q.execute(sql.raw(`explain execute ${name}(${args})`)))
    .map((r) => Object.values(r)[0])
    .join('\n');
}

/** The plan of `statement` prepared once under a fresh name and executed with `args` (prepared, explained, deallocated). */
export async function explainPrepared(q: Db | Tx, statement: string, args: string): Promise<string> {
  const name = `p_${randomUUID().replaceAll('-', '')}`;
  await q.execute(sql.raw(`prepare ${name} as ${statement}`));
  const plan = await explainExecute(q, name, args);
  await q.execute(sql.raw(`deallocate ${name}`));
  return plan;
}
