import request from 'supertest';
import WebSocket from 'ws';
import { createClient, type Client } from 'graphql-ws';
import type { TestServer } from './server.js';

export interface GqlResult<T = Record<string, unknown>> {
  status: number;
  data?: T;
  errors?: { message: string; extensions?: { code?: string; [k: string]: unknown } }[];
}

/** POST one operation over real HTTP. */
export async function gql<T = Record<string, any>>(
  server: Pick<TestServer, 'url'>,
  query: string,
  variables?: Record<string, unknown>,
  token?: string,
): Promise<GqlResult<T>> {
  let req = request(server.url).post('/graphql').set('content-type', 'application/json');
  if (token) req = req.set('authorization', `Bearer ${token}`);
  const res = await req.send({ query, variables });
  return { status: res.status, data: res.body?.data ?? undefined, errors: res.body?.errors };
}

/** The data, or throw with the errors (for set-up steps that must succeed). */
export async function must<T = Record<string, any>>(server: Pick<TestServer, 'url'>, query: string, variables?: Record<string, unknown>, token?: string): Promise<T> {
  const r = await gql<T>(server, query, variables, token);
  if (r.errors?.length || !r.data) throw new Error(`GraphQL failed: ${JSON.stringify(r.errors ?? r)}`);
  return r.data;
}

export function errorCode(r: GqlResult): string | undefined {
  return r.errors?.[0]?.extensions?.code;
}

let counter = 0;
/** Register a fresh user; returns its tokens and id. */
export async function newUser(server: Pick<TestServer, 'url'>, prefix = 'user') {
  const email = `${prefix}-${Date.now()}-${++counter}-${Math.random().toString(36).slice(2, 8)}@example.com`;
  const d = await must<{ register: { accessToken: string; refreshToken: string; user: { id: string } } }>(
    server,
    `mutation($e:String!,$p:String!){ register(email:$e,password:$p,name:"Test"){ accessToken refreshToken user{ id } } }`,
    { e: email, p: 'correct-horse-battery' },
  );
  return { email, password: 'correct-horse-battery', token: d.register.accessToken, refreshToken: d.register.refreshToken, id: d.register.user.id };
}

/** A graphql-ws client over a real socket; `authorization` goes in connectionParams. */
export function wsClient(server: Pick<TestServer, 'wsUrl'>, token: string | null, opts: { retry?: boolean } = {}): Client {
  return createClient({
    url: server.wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: token === null ? {} : { authorization: `Bearer ${token}` },
    retryAttempts: opts.retry ? 5 : 0,
    lazy: true,
  });
}

/** Collect events of a subscription until `until` says stop (or timeout). */
export function collect<T>(client: Client, query: string, variables: Record<string, unknown> = {}) {
  const items: T[] = [];
  const errors: unknown[] = [];
  let done = false;
  const dispose = client.subscribe<T>(
    { query, variables },
    {
      next: (v) => {
        if (v.errors) errors.push(v.errors);
        if (v.data) items.push(v.data as T);
      },
      error: (e) => {
        errors.push(e);
        done = true;
      },
      complete: () => {
        done = true;
      },
    },
  );
  return { items, errors, dispose, isDone: () => done };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `predicate` every `intervalMs` until it holds, or throws after `timeoutMs`. */
export async function waitFor(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs = 10_000, intervalMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}
