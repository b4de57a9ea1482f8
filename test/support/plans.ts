import { sql } from 'drizzle-orm';
import type { Db, Tx } from '../../src/db/client.js';
import { rowsOf } from '../../src/db/batch-sql.js';

/** The plan `explain execute <name>(<args>)` prints for a prepared statement, as one text (both modes). */
export async function explainExecute(q: Db | Tx, name: string, args: string): Promise<string> {
  return rowsOf<Record<string, string>>(await q.execute(sql.raw(`explain execute ${name}(${args})`)))
    .map((r) => Object.values(r)[0])
    .join('\n');
}
