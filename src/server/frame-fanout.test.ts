import { afterEach, describe, expect, it } from 'vitest';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { buildSchema, parse, type ExecutionResult } from 'graphql';
import { WebSocketServer, WebSocket } from 'ws';
import { toAsyncIterator } from '../events/async-iterator.js';
import { attachFrameSink, textFrame, write, type FrameSink } from './frame-fanout.js';
import { sharedSubscribe } from './shared-execution.js';

/** A real ws server and client pair: what the server side writes is what the client reads. */
async function socketPair() {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await once(wss, 'listening');
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
  const [server] = (await once(wss, 'connection')) as [WebSocket];
  await once(client, 'open');
  const received: string[] = [];
  client.on('message', (m: Buffer) => received.push(m.toString('utf8')));
  return { wss, client, server, received };
}

function schemaWithQuotes() {
  const schema = buildSchema(`
    type Quote { symbol: String! last: String! n: Int }
    type Query { ok: Boolean }
    type Subscription { quotes(symbols: [String!]!): Quote! }
  `);
  let executions = 0;
  const pushers: ((q: object) => void)[] = [];
  const f = schema.getSubscriptionType()!.getFields().quotes;
  f.subscribe = () => {
    const it = toAsyncIterator<object>(async (push) => {
      pushers.push(push);
      return async () => {
        pushers.splice(pushers.indexOf(push), 1);
      };
    });
    return it.ready.then(() => it);
  };
  f.resolve = ((q: { symbol: string; last: string }) => ({ ...q, n: ++executions })) as never;
  return { schema, publish: (q: object) => pushers.forEach((p) => p(q)), executions: () => executions, live: () => pushers.length };
}

const closers: (() => void)[] = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
}

describe('frame fan-out (quote subscriptions written straight to their sockets)', () => {
  it('writes one tick to every socket as graphql-transport-ws next frames, executed and serialised once per selection', async () => {
    const s = schemaWithQuotes();
    const pairs = await Promise.all([socketPair(), socketPair(), socketPair()]);
    for (const p of pairs) closers.push(() => (p.client.close(), p.wss.close()));
    const q = 'subscription($s: [String!]!) { quotes(symbols: $s) { symbol last n } }';
    const ids = ['1', '1', 'a"b'];
    const subs = await Promise.all(
      pairs.map(async (p, i) => {
        const contextValue = {};
        attachFrameSink(contextValue, { socket: p.server, id: ids[i]!, formatError: (e) => e });
        return (await sharedSubscribe({ schema: s.schema, document: parse(q), variableValues: { s: ['ITC'] }, contextValue })) as AsyncIterableIterator<ExecutionResult>;
      }),
    );
    s.publish({ symbol: 'ITC', last: '400.5' });
    await until(() => pairs.every((p) => p.received.length === 1));
    expect(s.executions()).toBe(1);
    const frames = pairs.map((p) => JSON.parse(p.received[0]!));
    expect(frames[0]).toEqual({ id: '1', type: 'next', payload: { data: { quotes: { symbol: 'ITC', last: '400.5', n: 1 } } } });
    expect(pairs[1]!.received[0]).toBe(pairs[0]!.received[0]);
    expect(frames[2]).toEqual({ ...frames[0], id: 'a"b' }); // the id is escaped, the payload the same
    // Ending a subscription (graphql-ws calls return() on complete or close) stops its frames and unsubscribes.
    await subs[0]!.return!();
    expect(s.live()).toBe(2);
    s.publish({ symbol: 'ITC', last: '401' });
    await until(() => pairs[1]!.received.length === 2 && pairs[2]!.received.length === 2);
    await new Promise((r) => setTimeout(r, 50));
    expect(pairs.map((p) => p.received.length)).toEqual([1, 2, 2]);
    expect(s.executions()).toBe(2);
  });

  it('a pending next() of the iterator graphql-ws holds ends with done when the subscription is returned', async () => {
    const s = schemaWithQuotes();
    const p = await socketPair();
    closers.push(() => (p.client.close(), p.wss.close()));
    const contextValue = {};
    attachFrameSink(contextValue, { socket: p.server, id: '7', formatError: (e) => e });
    const it = (await sharedSubscribe({
      schema: s.schema,
      document: parse('subscription { quotes(symbols: ["ITC"]) { symbol } }'),
      contextValue,
    })) as AsyncIterableIterator<ExecutionResult>;
    const pending = it.next();
    s.publish({ symbol: 'ITC', last: '1' });
    await until(() => p.received.length === 1);
    expect(JSON.parse(p.received[0]!)).toEqual({ id: '7', type: 'next', payload: { data: { quotes: { symbol: 'ITC' } } } });
    await it.return!();
    await expect(pending).resolves.toEqual({ value: undefined, done: true });
  });

  it('builds frames a ws client reads, at every length encoding (7-bit, 16-bit, 64-bit)', async () => {
    const p = await socketPair();
    closers.push(() => (p.client.close(), p.wss.close()));
    const sink: FrameSink = { socket: p.server, id: '1', formatError: (e) => e };
    const texts = [10, 125, 126, 300, 65_535, 65_536, 70_000].map((n) => JSON.stringify({ s: 'x'.repeat(n) }));
    for (const t of texts) write(sink, { message: Buffer.from(t), frame: textFrame(Buffer.from(t)) });
    await until(() => p.received.length === texts.length);
    expect(p.received).toEqual(texts);
  });
});
