/**
 * Operations generated from the schema: valid shapes (real root fields, real arguments, real selections
 * down to the depth limit) filled with hostile values — huge and negative numbers, NUL and astral
 * unicode, lone surrogates, absurd lengths, malformed and foreign ids, wrong types, missing required
 * arguments. Used by `npm run bench:fuzz` (10,000 operations) and by test/fuzz.test.ts (a few hundred).
 */
import {
  getNamedType,
  getNullableType,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  isInterfaceType,
  isScalarType,
  isUnionType,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLOutputType,
  type GraphQLSchema,
} from 'graphql';
import { Prng } from '../../src/market/prng.js';

export interface FuzzIds {
  /** Ids of the caller's own objects (portfolios, orders). */
  own: string[];
  /** Ids of another user's objects: must answer NOT_FOUND, never the object. */
  foreign: string[];
}

export interface FuzzOp {
  query: string;
  variables: Record<string, unknown>;
  /** The root field it exercises (for the report). */
  field: string;
  /** Send without a token. */
  anonymous: boolean;
}

const NUL = '\u0000';
const HOSTILE_STRINGS = [
  '',
  ' ',
  'RELIANCE',
  'AAPL',
  'NSE:RELIANCE',
  ':',
  'NSE:',
  NUL,
  `SBIN${NUL}`,
  `a${NUL}b${NUL}`,
  '😀'.repeat(300),
  '\ud800',
  '\udfff\ud800',
  '\u202eevil',
  'x'.repeat(25_000),
  'é'.repeat(5000),
  "'; drop table users; --",
  '%',
  '_%_',
  '\\',
  '"quoted"',
  '<script>alert(1)</script>',
  'null',
  '0',
  '-1',
  '1e309',
  'ÿ'.repeat(3),
  '\t\n\r',
  'демо@пример.рф',
  'demo@tradegraph.dev',
  'rt_' + 'A'.repeat(43),
];
const MALFORMED_IDS = ['abc', '', ' ', '0', '-1', '00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff', `00000000-0000-0000-0000-00000000000${NUL}`, 'x'.repeat(5000), '1;select 1', '😀', '\ud800', 12345];
const INTS = [0, 1, -1, 2, 50, 201, 2147483647, -2147483648, 2147483648, 1e20, 3.5, -0];
const FLOATS = [0, -0, 1.5, -1e308, 1e308, 5e-324, 123456789.123];
const DECIMALS = ['0', '1', '-1', '0.01', '0.001', '1e400', '-1e-400', '99999999999999999999999999999999999999.99', '0.0000000000000000001', 'abc', 'NaN', 'Infinity', '-Infinity', ' 1', '1,000', '١٢٣', `1${NUL}`, '', '1'.repeat(5000), 1, 1.5];
const DATES = ['2026-01-05T09:15:00Z', '1970-01-01T00:00:00Z', '9999-12-31T23:59:59Z', '0000-00-00', 'not a date', '2026-02-30T00:00:00Z', 0, -1, `2026${NUL}`];

/** Generates hostile operations for one schema, deterministically from a seed. */
export class Fuzzer {
  private readonly rng: Prng;
  private readonly roots: { kind: 'query' | 'mutation'; field: GraphQLField<unknown, unknown> }[] = [];

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly ids: FuzzIds,
    seed: number,
    private readonly maxDepth = 10,
  ) {
    this.rng = new Prng(seed);
    for (const f of Object.values(schema.getQueryType()?.getFields() ?? {})) this.roots.push({ kind: 'query', field: f });
    for (const f of Object.values(schema.getMutationType()?.getFields() ?? {})) this.roots.push({ kind: 'mutation', field: f });
  }

  private pick<T>(xs: readonly T[]): T {
    return xs[this.rng.int(0, xs.length - 1)];
  }

  private chance(p: number): boolean {
    return this.rng.next() < p;
  }

  next(): FuzzOp {
    const root = this.pick(this.roots);
    const vars: Record<string, unknown> = {};
    const defs: string[] = [];
    let n = 0;
    const argsOf = (field: GraphQLField<unknown, unknown>): string => {
      const parts: string[] = [];
      for (const a of field.args) {
        // Leave out optional arguments often, a required one now and then (graphql-js must refuse it).
        if (!isNonNullType(a.type) && this.chance(0.4)) continue;
        if (isNonNullType(a.type) && this.chance(0.02)) continue;
        const v = `v${n++}`;
        defs.push(`$${v}: ${String(a.type)}`);
        vars[v] = this.value(a.type, 0);
        parts.push(`${a.name}: $${v}`);
      }
      return parts.length ? `(${parts.join(', ')})` : '';
    };
    const top = argsOf(root.field);
    // Deep selections sometimes (up to the depth limit, which the server enforces), shallow mostly.
    const depthBudget = this.chance(0.15) ? this.maxDepth : this.rng.int(1, 4);
    const sel = this.selection(root.field.type, 1, depthBudget, argsOf);
    const header = defs.length ? `(${defs.join(', ')})` : '';
    const query = `${root.kind} Fuzz${header} { ${root.field.name}${top}${sel} }`;
    return { query, variables: vars, field: `${root.kind}.${root.field.name}`, anonymous: this.chance(0.1) };
  }

  private selection(
    type: GraphQLOutputType,
    depth: number,
    budget: number,
    argsOf: (f: GraphQLField<unknown, unknown>) => string,
  ): string {
    const named = getNamedType(type);
    if (isLeafType(named)) return '';
    if (isUnionType(named)) return ' { __typename }';
    if (!isObjectType(named) && !isInterfaceType(named)) return '';
    const fields = Object.values(named.getFields());
    const leaves = fields.filter((f) => isLeafType(getNamedType(f.type)));
    const objects = fields.filter((f) => !isLeafType(getNamedType(f.type)));
    const chosen: string[] = [];
    for (const f of leaves) if (this.chance(0.6) || chosen.length === 0) chosen.push(`${f.name}${argsOf(f)}`);
    if (depth < budget) {
      for (const f of objects) {
        if (!this.chance(depth + 1 >= budget - 1 ? 0.9 : 0.35)) continue;
        const inner = this.selection(f.type, depth + 1, budget, argsOf);
        if (inner) chosen.push(`${this.chance(0.05) ? `a${depth}${f.name}: ` : ''}${f.name}${argsOf(f)}${inner}`);
      }
    }
    if (chosen.length === 0) chosen.push('__typename');
    return ` { ${chosen.join(' ')} }`;
  }

  /** A value for an input type: mostly of the right type with hostile contents, sometimes of the wrong type. */
  value(type: GraphQLInputType, depth: number): unknown {
    if (!isNonNullType(type) && this.chance(0.05)) return null;
    if (isNonNullType(type) && this.chance(0.01)) return null;
    if (this.chance(0.04)) return this.pick<unknown>([[], {}, 'wrong', 42, true, [[['deep']]], { a: { b: { c: NUL } } }]);
    const t = getNullableType(type) as GraphQLInputType;
    if (isListType(t)) {
      const len = this.pick([0, 1, 2, 3, 150]);
      return Array.from({ length: len }, () => this.value(t.ofType, depth + 1));
    }
    if (isInputObjectType(t)) {
      const out: Record<string, unknown> = {};
      for (const f of Object.values(t.getFields())) {
        if (!isNonNullType(f.type) && this.chance(0.4)) continue;
        if (isNonNullType(f.type) && this.chance(0.02)) continue;
        out[f.name] = depth > 6 ? null : this.value(f.type, depth + 1);
      }
      if (this.chance(0.03)) out.unknownField = 'x';
      return out;
    }
    if (isEnumType(t)) return this.chance(0.9) ? this.pick(t.getValues()).name : 'NOT_A_VALUE';
    if (isScalarType(t)) return this.scalar(t.name);
    return null;
  }

  private scalar(name: string): unknown {
    switch (name) {
      case 'ID': {
        const r = this.rng.next();
        if (r < 0.35 && this.ids.own.length) return this.pick(this.ids.own);
        if (r < 0.6 && this.ids.foreign.length) return this.pick(this.ids.foreign);
        return this.pick(MALFORMED_IDS);
      }
      case 'String':
        return this.pick(HOSTILE_STRINGS);
      case 'Int':
        return this.pick(INTS);
      case 'Float':
        return this.pick(FLOATS);
      case 'Boolean':
        return this.chance(0.5);
      case 'Decimal':
        return this.pick(DECIMALS);
      case 'DateTime':
        return this.pick(DATES);
      case 'JSON':
        return this.pick<unknown>([{}, { a: 1 }, { s: NUL }, [1, 2, 3], 'str', 1, nest(40), { [NUL]: 1 }]);
      default:
        return this.pick<unknown>([...HOSTILE_STRINGS.slice(0, 10), 1, -1, true]);
    }
  }
}

function nest(depth: number): unknown {
  let v: unknown = 'leaf';
  for (let i = 0; i < depth; i++) v = { v };
  return v;
}

/** How one response is judged: failures are what must never happen. */
export interface Verdict {
  /** A code for the tally (`ok`, the error code, `HTTP_413`...). */
  code: string;
  /** Why this is a failure (5xx, INTERNAL_SERVER_ERROR, an error without a code), or null. */
  failure: string | null;
}

export function judge(status: number, body: unknown): Verdict {
  if (status >= 500) return { code: `HTTP_${status}`, failure: `HTTP ${status}` };
  const errors = (body as { errors?: { message?: string; extensions?: { code?: unknown } }[] } | null)?.errors;
  if (!errors?.length) return { code: status === 200 ? 'ok' : `HTTP_${status}`, failure: status === 200 ? null : `HTTP ${status} without errors` };
  for (const e of errors) {
    const code = e.extensions?.code;
    if (typeof code !== 'string') return { code: 'UNCODED', failure: `error without a code: ${String(e.message).slice(0, 120)}` };
    if (code === 'INTERNAL_SERVER_ERROR') return { code, failure: `INTERNAL_SERVER_ERROR: ${String(e.message).slice(0, 120)}` };
  }
  return { code: String(errors[0].extensions!.code), failure: null };
}
