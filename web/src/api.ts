import { createClient, type Client } from 'graphql-ws';

/**
 * The dashboard's only door to the server: GraphQL over HTTP (fetch) and graphql-ws for subscriptions,
 * both on /graphql of this origin, both authenticated with the access token of the session. An expired
 * access token is refreshed once (rotating refresh token) and the request retried.
 */

export interface GqlErrorShape {
  message: string;
  extensions?: { code?: string; field?: string; reason?: string; [k: string]: unknown };
}

/** A GraphQL error answer, with the server's stable code. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly details: GqlErrorShape['extensions'] = {},
  ) {
    super(message);
  }
}

interface Tokens {
  accessToken: string;
  refreshToken: string;
}

const STORAGE_KEY = 'tradegraph.session';

function loadTokens(): Tokens | null {
  try {
    const raw = localStorage.getItem(STORAGE_KEY);
    return raw ? (JSON.parse(raw) as Tokens) : null;
  } catch {
    return null;
  }
}

let tokens: Tokens | null = loadTokens();
const listeners = new Set<(signedIn: boolean) => void>();

export function isSignedIn(): boolean {
  return tokens !== null;
}

export function onSessionChange(fn: (signedIn: boolean) => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function setTokens(next: Tokens | null): void {
  tokens = next;
  if (next) localStorage.setItem(STORAGE_KEY, JSON.stringify(next));
  else localStorage.removeItem(STORAGE_KEY);
  // Sockets authenticate at connection_init: a new identity needs a new socket.
  resetSocket();
  for (const fn of listeners) fn(next !== null);
}

async function post<T>(query: string, variables: Record<string, unknown>, withAuth: boolean): Promise<{ data?: T; errors?: GqlErrorShape[] }> {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' };
  if (withAuth && tokens) headers.authorization = `Bearer ${tokens.accessToken}`;
  let res: Response;
  try {
    res = await fetch('/graphql', { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  } catch {
    throw new ApiError('The server cannot be reached. Check that it is running, then try again.', 'NETWORK_ERROR');
  }
  const body = (await res.json().catch(() => null)) as { data?: T; errors?: GqlErrorShape[] } | null;
  if (!body) throw new ApiError(`The server answered HTTP ${res.status} without a GraphQL body.`, 'BAD_RESPONSE');
  return body;
}

let refreshing: Promise<boolean> | null = null;

/** Exchanges the refresh token for a new pair; false (and signed out) when the session is over. */
export function refreshSession(): Promise<boolean> {
  refreshing ??= (async () => {
    const current = tokens;
    if (!current) return false;
    const r = await post<{ refreshToken: Tokens }>(
      'mutation Refresh($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken } }',
      { t: current.refreshToken },
      false,
    ).catch(() => null);
    if (r?.data?.refreshToken) {
      setTokens(r.data.refreshToken);
      return true;
    }
    if (r) setTokens(null); // the server said no: the session is over
    return false;
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

const AUTH_CODES = new Set(['UNAUTHENTICATED', 'INVALID_TOKEN']);

/** Runs a query or mutation; throws {@link ApiError} with the server's message and code. */
export async function gql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  let body = await post<T>(query, variables, true);
  const code = body.errors?.[0]?.extensions?.code;
  if (code && AUTH_CODES.has(code) && tokens && (await refreshSession())) body = await post<T>(query, variables, true);
  if (body.errors?.length) {
    const e = body.errors[0];
    throw new ApiError(e.message, e.extensions?.code ?? 'UNKNOWN', e.extensions);
  }
  return body.data as T;
}

export async function login(email: string, password: string): Promise<void> {
  const r = await post<{ login: Tokens }>(
    'mutation Login($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken refreshToken } }',
    { e: email, p: password },
    false,
  );
  if (r.errors?.length) throw new ApiError(r.errors[0].message, r.errors[0].extensions?.code ?? 'UNKNOWN', r.errors[0].extensions);
  setTokens(r.data!.login);
}

export async function logout(): Promise<void> {
  const current = tokens;
  setTokens(null);
  if (current) {
    await post('mutation Logout($t: String!) { logout(refreshToken: $t) }', { t: current.refreshToken }, false).catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Sockets

let socket: Client | null = null;
/** Connection state for the status badge: 'live' once the socket is acknowledged. */
export type SocketState = 'connecting' | 'live' | 'offline';
const socketListeners = new Set<(s: SocketState) => void>();
let socketState: SocketState = 'offline';

function setSocketState(s: SocketState): void {
  socketState = s;
  for (const fn of socketListeners) fn(s);
}

export function onSocketState(fn: (s: SocketState) => void): () => void {
  socketListeners.add(fn);
  fn(socketState);
  return () => socketListeners.delete(fn);
}

function wsUrl(): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`;
}

function resetSocket(): void {
  const old = socket;
  socket = null;
  void old?.dispose();
}

function client(): Client {
  socket ??= createClient({
    url: wsUrl(),
    lazy: true,
    // Reconnection is ours (see live.ts): each subscription resumes from its own last sequence.
    retryAttempts: 0,
    connectionParams: () => (tokens ? { authorization: `Bearer ${tokens.accessToken}` } : {}),
    on: {
      connecting: () => setSocketState('connecting'),
      connected: () => setSocketState('live'),
      closed: () => setSocketState('offline'),
    },
  });
  return socket;
}

/** Close codes after which a new access token, not just a new socket, is needed. */
const AUTH_CLOSE_CODES = new Set([4401, 4403]);

/**
 * One subscription attempt. Resolves when it ends: `auth` when the server closed for the token (refresh,
 * then resubscribe), `closed` on any other drop, `error` with GraphQL errors (not retried).
 */
export function subscribeOnce<T>(query: string, variables: Record<string, unknown>, onData: (data: T) => void, signal: AbortSignal): Promise<'auth' | 'closed' | { errors: GqlErrorShape[] }> {
  return new Promise((resolve) => {
    const stop = client().subscribe<T>(
      { query, variables },
      {
        next: (msg) => {
          if (msg.errors?.length) resolve({ errors: msg.errors as GqlErrorShape[] });
          else if (msg.data) onData(msg.data as T);
        },
        error: (err) => {
          if (Array.isArray(err)) resolve({ errors: err as GqlErrorShape[] });
          else if (err && typeof err === 'object' && 'code' in err && AUTH_CLOSE_CODES.has((err as CloseEvent).code)) resolve('auth');
          else resolve('closed');
        },
        complete: () => resolve('closed'),
      },
    );
    signal.addEventListener('abort', () => {
      stop();
      resolve('closed');
    });
  });
}

/** Drops the socket as a network failure would (used by the "reconnect" button and by tests). */
export function dropSocket(): void {
  // terminate() closes at once with 4499, as a lost network does; the live loops then resume.
  socket?.terminate();
}
