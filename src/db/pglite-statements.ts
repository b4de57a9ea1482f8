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
 * The statement on an error, for the logs, as PGlite's own query adds it; not its parameters (values such as
 * password hashes have no place in a log line).
 */
function withQuery(err: unknown, text: string): unknown {
  if (err && typeof err === 'object') Object.assign(err, { query: text });
  return err;
}

/**
 * Bind (every parameter and result column as text), Execute and Sync for the prepared statement `name`, in
 * one buffer: the bytes PGlite's serializer writes for them (`protocol.serialize.bind`, `execute` and
 * `sync`), which it builds through a growing writer, measuring each string's UTF-8 length in JavaScript,
 * and copies three times over.
 */
export function bindExecuteSync(name: string, values: readonly (string | null)[]): Uint8Array {
  const lengths = values.map((v) => (v === null ? -1 : Buffer.byteLength(v)));
  const nameLength = Buffer.byteLength(name);
  // 'B', its length, the unnamed portal's empty name, the statement's name; n format codes, n values, no result formats.
  const bindLength = 4 + 1 + nameLength + 1 + 2 + 2 * values.length + 2 + lengths.reduce((n, l) => n + 4 + Math.max(l, 0), 0) + 2;
  const out = Buffer.allocUnsafe(1 + bindLength + EXECUTE_SYNC.length);
  let at = out.writeUInt8(0x42, 0); // 'B'
  at = out.writeInt32BE(bindLength, at);
  at = out.writeUInt8(0, at); // the unnamed portal
  at += out.write(name, at, 'utf8');
  at = out.writeUInt8(0, at);
  at = out.writeUInt16BE(values.length, at);
  for (let i = 0; i < values.length; i++) at = out.writeInt16BE(0, at); // text
  at = out.writeUInt16BE(values.length, at);
  values.forEach((v, i) => {
    at = out.writeInt32BE(lengths[i]!, at);
    if (v !== null) at += out.write(v, at, 'utf8');
  });
  at = out.writeInt16BE(0, at); // result columns: all text
  out.set(EXECUTE_SYNC, at);
  return out;
}

/** Execute the unnamed portal with no row limit ('E'), then Sync ('S'). */
const EXECUTE_SYNC = Uint8Array.from([0x45, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0x53, 0, 0, 0, 4]);

/**
 * An extended-protocol answer (Bind, Execute, Sync) read in place: each row's columns as text (null for
 * NULL), and the command tag. An answer holding an error goes through PGlite's own parser, so the error is
 * the same `DatabaseError`, with every field, that PGlite's `query` throws. Other messages are passed
 * over, as PGlite's `query` passes over notices; the product listens for no notifications through PGlite
 * (its pub/sub is in-process), so none is dropped here.
 */
function readAnswer(buf: Uint8Array): { rows: (string | null)[][]; command: string | null } | { error: unknown } {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const text = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength); // the same bytes, for utf-8 decoding
  const rows: (string | null)[][] = [];
  let command: string | null = null;
  let at = 0;
  while (at < buf.length) {
    const type = buf[at]!;
    const end = at + 1 + view.getInt32(at + 1);
    if (type === DATA_ROW) {
      const n = view.getInt16(at + 5);
      const cells = new Array<string | null>(n);
      let p = at + 7;
      for (let i = 0; i < n; i++) {
        const len = view.getInt32(p);
        p += 4;
        if (len < 0) cells[i] = null;
        else {
          cells[i] = text.toString('utf8', p, p + len);
          p += len;
        }
      }
      rows.push(cells);
    } else if (type === COMMAND_COMPLETE) {
      command = text.toString('utf8', at + 5, end - 1); // a C string: its terminating zero left out
    } else if (type === ERROR_RESPONSE) {
      return { error: errorOf(buf) };
    } // anything else (BindComplete, ReadyForQuery, a notice) says nothing the caller reads, as in PGlite's query
    at = end;
  }
  return { rows, command };
}

const DATA_ROW = 0x44; // 'D'
const COMMAND_COMPLETE = 0x43; // 'C'
const ERROR_RESPONSE = 0x45; // 'E'

/** The error of an answer that holds one, as PGlite's own parser makes it (the `DatabaseError` its query throws). */
function errorOf(buf: Uint8Array): unknown {
  let error: unknown = null;
  new protocol.Parser().parse(buf, (m) => {
    if (m instanceof protocol.messages.DatabaseError) error ??= m;
  });
  return error ?? new Error('PGlite answered with an ErrorResponse its parser did not read');
}

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
    const chunks: Uint8Array[] = [];
    try {
      // The answer's bytes as they are, read below: PGlite's own execProtocol parses every message into an
      // object, copying each column's bytes out before decoding them (about 6 % of the embedded process's
      // CPU at full load, its garbage included).
      await this.pg.execProtocolRawStream(bindExecuteSync(st.name, values), {
        syncToFs: false,
        onRawData: (data) => chunks.push(data.slice()), // a view into PGlite's memory: copied
      });
    } catch (err) {
      throw withQuery(err, text);
    }
    const answer = readAnswer(chunks.length === 1 ? chunks[0]! : concat(chunks));
    if ('error' in answer) throw withQuery(answer.error, text);
    const arrays = options?.rowMode === 'array';
    const rows: unknown[] = [];
    if (answer.rows.length) {
      const parsers = this.parsersOf(st, options);
      for (const raw of answer.rows) {
        const cells = raw.map((x, i) => types.parseType(x, st.fields[i]!.dataTypeID, parsers) as unknown);
        rows.push(arrays ? cells : Object.fromEntries(st.fields.map((f, i) => [f.name, cells[i]])));
      }
    }
    let affectedRows = 0;
    if (answer.command !== null) {
      const n = Number(/ (\d+)$/.exec(answer.command)?.[1]);
      if (Number.isInteger(n) && !/^SELECT /.test(answer.command)) affectedRows = n;
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
