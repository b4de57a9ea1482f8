import { describe, expect, it } from 'vitest';
import { buildSchema, parse, type ExecutionResult } from 'graphql';
import { sharedSubscribe } from './shared-execution.js';

/** A schema with one shared root field (quotes) and one that is not (other), counting executions. */
function setUp() {
  const schema = buildSchema(`
    type Quote { symbol: String! last: String! extra: String }
    type Query { ok: Boolean }
    type Subscription { quotes(symbols: [String!]!): Quote!  other(symbols: [String!]!): Quote! }
  `);
  let executions = 0;
  const listeners: ((q: object) => void)[] = [];
  const stream = () => {
    const queue: object[] = [];
    let wake: (() => void) | null = null;
    listeners.push((q) => {
      queue.push(q);
      wake?.();
    });
    const it: AsyncIterableIterator<object> = {
      [Symbol.asyncIterator]: () => it,
      async next() {
        while (!queue.length) await new Promise<void>((r) => (wake = r));
        return { value: queue.shift()!, done: false };
      },
      async return() {
        return { value: undefined, done: true };
      },
    };
    return it;
  };
  const field = {
    subscribe: stream,
    resolve: (q: { symbol: string; last: string }) => {
      executions++;
      return { ...q, extra: `x${executions}` };
    },
  };
  const rootValue = { quotes: field, other: field };
  // buildSchema leaves resolvers to the root value: put them on the Subscription type's fields.
  const sub = schema.getSubscriptionType()!.getFields();
  sub.quotes.subscribe = (_r, _a) => stream();
  sub.quotes.resolve = field.resolve as never;
  sub.other.subscribe = (_r, _a) => stream();
  sub.other.resolve = field.resolve as never;
  const publish = (q: object) => listeners.forEach((l) => l(q));
  return { schema, rootValue, publish, executions: () => executions };
}

async function open(schema: ReturnType<typeof setUp>['schema'], query: string, variableValues: Record<string, unknown>) {
  const r = await sharedSubscribe({ schema, document: parse(query), variableValues });
  if (!(Symbol.asyncIterator in r)) throw new Error(JSON.stringify(r));
  return (r as AsyncIterable<ExecutionResult>)[Symbol.asyncIterator]();
}

describe('sharedSubscribe', () => {
  it('executes a quote event once for every subscriber with the same selection, whatever their symbols', async () => {
    const s = setUp();
    const q = 'subscription($s: [String!]!) { quotes(symbols: $s) { symbol last extra } }';
    const a = await open(s.schema, q, { s: ['ITC'] });
    const b = await open(s.schema, q, { s: ['ITC', 'TCS'] });
    const c = await open(s.schema, 'subscription($s: [String!]!) { quotes(symbols: $s) { symbol last } }', { s: ['ITC'] });
    s.publish({ symbol: 'ITC', last: '400' });
    const [ra, rb, rc] = await Promise.all([a.next(), b.next(), c.next()]);
    expect(ra.value).toEqual({ data: { quotes: { symbol: 'ITC', last: '400', extra: 'x1' } } });
    expect(rb.value).toBe(ra.value); // the same result object: executed once
    expect(rc.value).toEqual({ data: { quotes: { symbol: 'ITC', last: '400' } } }); // another selection, its own execution
    expect(s.executions()).toBe(2);
    s.publish({ symbol: 'ITC', last: '401' }); // a new event object is executed anew
    expect((await a.next()).value).toEqual({ data: { quotes: { symbol: 'ITC', last: '401', extra: 'x3' } } });
  });

  it('keeps variables used in the selection in the key, and executes other root fields per subscriber', async () => {
    const s = setUp();
    const q = 'subscription($s: [String!]!, $x: Boolean!) { quotes(symbols: $s) { symbol extra @include(if: $x) } }';
    const a = await open(s.schema, q, { s: ['ITC'], x: true });
    const b = await open(s.schema, q, { s: ['ITC'], x: false });
    const o1 = await open(s.schema, 'subscription { other(symbols: ["ITC"]) { symbol } }', {});
    const o2 = await open(s.schema, 'subscription { other(symbols: ["ITC"]) { symbol } }', {});
    s.publish({ symbol: 'ITC', last: '400' });
    const [ra, rb, r1, r2] = await Promise.all([a.next(), b.next(), o1.next(), o2.next()]);
    expect(ra.value.data.quotes.extra).toMatch(/^x\d$/);
    expect(rb.value).toEqual({ data: { quotes: { symbol: 'ITC' } } });
    expect(r1.value).toEqual(r2.value);
    expect(r1.value).not.toBe(r2.value);
    expect(s.executions()).toBe(4);
    expect((await a.return!()).done).toBe(true);
  });

  it('returns errors before the stream as a result (a bad argument), not a stream', async () => {
    const s = setUp();
    const r = await sharedSubscribe({ schema: s.schema, document: parse('subscription($s: [String!]!) { quotes(symbols: $s) { symbol } }'), variableValues: {} });
    expect(Symbol.asyncIterator in r).toBe(false);
    expect((r as ExecutionResult).errors?.[0].message).toMatch(/\$s/);
  });
});
