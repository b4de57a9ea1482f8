/**
 * PGlite with its statements prepared once: what postgres.js's `prepare: true` is for the Postgres
 * driver (db/client.ts), for the embedded mode.
 *
 * PGlite's own `query` runs every statement as six separate wire-protocol calls into its WASM Postgres
 * (Parse, Describe, Bind, Describe, Execute, Sync), parsing and planning it again each time. Each call has a
 * fixed cost of its own. Measured on this machine, a three-row select by primary-key list costs 573 µs
 * through `query`. The same statement, prepared once and then sent as one Bind + Execute + Sync, costs
 * 299 µs.
 *
 * This wrapper keeps that contract for drizzle. drizzle calls only `query(text, params, options)`, and
 * `transaction(cb)` with a `query` on the transaction object. Each distinct text is parsed once under a
 * name, with its parameter and result types described. After that, each call is one `execProtocol`. The
 * values are serialised and the rows parsed with the same per-type serializers and parsers PGlite's own
 * `query` uses, and `options` may add to them as it does there.
 *
 * Locking is PGlite's own:
 *
 * - A statement outside a transaction takes the transaction lock and the query lock, as `query` does. It
 *   can then never run inside another caller's open transaction.
 * - A statement inside a transaction takes the query lock only, as the transaction's own `query` does.
 *
 * A statement whose cached plan went stale under a schema change is prepared again and retried once. At
 * most `max` statements are kept; the least recently used one is closed first.
 */
import { protocol, types, type PGlite, type QueryOptions, type Results, type Transaction } from '@electric-sql/pglite';

interface Prepared {
  name: string;
  params: number[];
  fields: { name: string; dataTypeID: number }[];
}

type Message = { name: string } & Record<string, unknown>;

const concat = (parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

/**
 * PGlite runs a statement on this thread and settles it in a microtask, so statements that follow one
 * another (a long job, a first start's history) never let timers and sockets in: the API stalls for as
 * long as the run lasts. Before a statement, once statements have kept the event loop from turning for
 * {@link SLICE_MS}, the caller waits for it to turn once.
 */
const SLICE_MS = 20;
/** When the current run of statements without a turn of the event loop began (-1: it has turned since). */
let sliceStart = -1;
const turned = () => {
  sliceStart = -1;
};
function fairTurn(): Promise<void> | undefined {
  const now = performance.now();
  if (sliceStart < 0) {
    sliceStart = now;
    setImmediate(turned);
    return undefined;
  }
  if (now - sliceStart < SLICE_MS) return undefined;
  return new Promise((resolve) => setImmediate(resolve));
}

/** Statement names, unique in the process (two wrappers over one PGlite must not collide). */
let named = 0;

/** Postgres's SQLSTATE for a prepared statement whose plan no longer fits the tables (after DDL). */
const FEATURE_NOT_SUPPORTED = '0A000';

export class PreparedStatements {
  private readonly cache = new Map<string, Prepared>();

  constructor(
    private readonly pg: PGlite,
    private readonly max = 1000,
  ) {}

  /** The PGlite instance as drizzle uses it, with `query` (also in transactions) running prepared. */
  client(): PGlite {
    const run = this.run.bind(this);
    const pg = this.pg;
    return new Proxy(pg, {
      get(target, prop) {
        if (prop === 'query') {
          return async <T>(text: string, params?: unknown[], options?: QueryOptions): Promise<Results<T>> => {
            await fairTurn();
            return target._runExclusiveTransaction(() => target.runExclusive(() => run<T>(text, params ?? [], options, true)));
          };
        }
        if (prop === 'transaction') {
          return <T>(callback: (tx: Transaction) => Promise<T>): Promise<T> =>
            target.transaction((tx) =>
              callback(
                new Proxy(tx, {
                  get(t, p, r) {
                    if (p !== 'query') return Reflect.get(t, p, r) as unknown;
                    return async <R>(text: string, params?: unknown[], options?: QueryOptions): Promise<Results<R>> => {
                      await fairTurn();
                      if (t.closed) throw new Error('Transaction is closed');
                      return target.runExclusive(() => run<R>(text, params ?? [], options, false));
                    };
                  },
                }),
              ),
            );
        }
        // Read on PGlite itself, not through the proxy: its getters read private fields.
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  private async run<T>(text: string, params: unknown[], options: QueryOptions | undefined, outsideTx: boolean): Promise<Results<T>> {
    // As PGlite's own query says it: a caller that waited (its turn, the lock) while the database closed.
    if (this.pg.closed) throw new Error('PGlite is closed');
    try {
      return await this.execute<T>(await this.prepare(text, options), text, params, options, outsideTx);
    } catch (err) {
      if ((err as { code?: string }).code !== FEATURE_NOT_SUPPORTED || !this.cache.has(text) || !outsideTx) throw err;
      // "cached plan must not change result type": the tables changed under it. Prepare it again, once.
      await this.forget(text);
      return this.execute<T>(await this.prepare(text, options), text, params, options, outsideTx);
    }
  }

  private async prepare(text: string, options: QueryOptions | undefined): Promise<Prepared> {
    const hit = this.cache.get(text);
    if (hit) {
      this.cache.delete(text); // re-inserted: most recently used last
      this.cache.set(text, hit);
      return hit;
    }
    const name = `tg_${++named}`;
    const { messages } = await this.pg.execProtocol(
      concat([
        protocol.serialize.parse({ name, text, types: options?.paramTypes ?? [] }),
        protocol.serialize.describe({ type: 'S', name }),
        protocol.serialize.sync(),
      ]),
      { syncToFs: false },
    );
    const prepared: Prepared = { name, params: [], fields: [] };
    for (const m of messages as unknown as Message[]) {
      if (m.name === 'parameterDescription') prepared.params = m.dataTypeIDs as number[];
      if (m.name === 'rowDescription') prepared.fields = (m.fields as { name: string; dataTypeID: number }[]).map((f) => ({ name: f.name, dataTypeID: f.dataTypeID }));
    }
    this.cache.set(text, prepared);
    if (this.cache.size > this.max) await this.forget(this.cache.keys().next().value as string);
    return prepared;
  }

  private async forget(text: string): Promise<void> {
    const st = this.cache.get(text);
    if (!st) return;
    this.cache.delete(text);
    await this.pg.execProtocol(concat([protocol.serialize.close({ type: 'S', name: st.name }), protocol.serialize.sync()]), { syncToFs: false });
  }

  private async execute<T>(st: Prepared, text: string, params: unknown[], options: QueryOptions | undefined, outsideTx: boolean): Promise<Results<T>> {
    const values = params.map((v, i) => {
      if (v === null || v === undefined) return null;
      const oid = st.params[i]!;
      const serialize = options?.serializers?.[oid] ?? this.pg.serializers[oid];
      return serialize ? serialize(v) : String(v);
    });
    let messages: Message[];
    try {
      ({ messages } = (await this.pg.execProtocol(
        concat([protocol.serialize.bind({ statement: st.name, values }), protocol.serialize.execute({}), protocol.serialize.sync()]),
        { syncToFs: false },
      )) as unknown as { messages: Message[] });
    } catch (err) {
      // The statement on the error, for the logs, as PGlite's own query does; not its parameters (values
      // such as password hashes have no place in a log line).
      Object.assign(err as object, { query: text });
      throw err;
    }
    const arrays = options?.rowMode === 'array';
    const rows: unknown[] = [];
    let affectedRows = 0;
    let parsers: QueryOptions['parsers'] | undefined;
    for (const m of messages) {
      if (m.name === 'dataRow') {
        parsers ??= this.parsersOf(st, options);
        const cells = (m.fields as (string | null)[]).map((x, i) => types.parseType(x, st.fields[i]!.dataTypeID, parsers) as unknown);
        rows.push(arrays ? cells : Object.fromEntries(st.fields.map((f, i) => [f.name, cells[i]])));
      } else if (m.name === 'commandComplete') {
        const n = Number(/ (\d+)$/.exec(m.text as string)?.[1]);
        if (Number.isInteger(n) && !/^SELECT /.test(m.text as string)) affectedRows = n;
      }
    }
    // Outside a transaction PGlite persists after each statement (a no-op for Node's file system).
    if (outsideTx) await this.pg.syncToFs();
    return { rows: rows as T[], fields: st.fields, affectedRows };
  }

  /**
   * The parsers of this statement's result columns: `options.parsers` over PGlite's, as PGlite's own
   * `query` merges them, but only for the statement's own types. Merging the whole maps (PGlite has over
   * 300 entries, and drizzle passes a parsers object of its own with every query) cost about 70 µs a
   * statement: 13 % of the embedded process's profile samples at 100 orders/s.
   */
  private parsersOf(st: Prepared, options: QueryOptions | undefined): QueryOptions['parsers'] {
    const extra = options?.parsers;
    if (!extra) return this.pg.parsers;
    const out: NonNullable<QueryOptions['parsers']> = {};
    for (const { dataTypeID: oid } of st.fields) out[oid] = oid in extra ? extra[oid] : this.pg.parsers[oid];
    return out;
  }
}
