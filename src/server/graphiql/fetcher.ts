/**
 * Browser code (bundled by scripts/build-graphiql.mjs, never imported by the server).
 *
 * GraphiQL's fetcher: queries and mutations go over HTTP POST, subscriptions over graphql-ws on the same
 * URL. graphql-ws authenticates once per socket, in `connection_init`, so the headers typed into GraphiQL's
 * Headers tab are sent as `connectionParams` (keys lower-cased, as the server expects
 * `{ authorization: "Bearer …" }`). When those headers change, the next subscription opens a new socket
 * with them; sockets of the previous identity close by themselves once their subscriptions end (lazy mode).
 */
import { createGraphiQLFetcher, type Fetcher, type FetcherOpts } from '@graphiql/toolkit';
import { createClient, type Client } from 'graphql-ws';

/** Where the page talks to; both derived from the page's own origin so nothing leaves it. */
export interface Endpoints {
  /** e.g. `http://127.0.0.1:4000/graphql` */
  httpUrl: string;
  /** e.g. `ws://127.0.0.1:4000/graphql` (`wss:` when the page came over https) */
  wsUrl: string;
}

/**
 * Derives the HTTP and WebSocket endpoints from the page location and the endpoint path.
 *
 * @param location - the page's location (only `protocol` and `host` are read)
 * @param path - the GraphQL endpoint path, e.g. `/graphql`
 */
export function endpointsFor(location: Pick<Location, 'protocol' | 'host'>, path: string): Endpoints {
  const wsProtocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return {
    httpUrl: `${location.protocol}//${location.host}${path}`,
    wsUrl: `${wsProtocol}//${location.host}${path}`,
  };
}

/**
 * Cleans the headers GraphiQL parsed from its Headers tab: drops non-string values and an `Authorization`
 * that carries no token (the pre-filled `"Bearer "`), which the server would reject as a malformed token
 * even on operations that need no login, such as `login` itself.
 *
 * @param headers - the parsed Headers tab, if any
 * @returns header name (as typed) to value
 */
export function usableHeaders(headers: FetcherOpts['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (typeof value !== 'string') continue;
    if (name.toLowerCase() === 'authorization' && /^\s*(bearer\s*)?$/i.test(value)) continue;
    out[name] = value;
  }
  return out;
}

/**
 * Builds the fetcher GraphiQL calls for every operation (including the schema introspection).
 *
 * @param endpoints - where to send HTTP requests and open sockets
 */
export function createTradeGraphFetcher(endpoints: Endpoints): Fetcher {
  let current: { key: string; fetcher: Fetcher; client: Client } | undefined;

  return (params, opts) => {
    const headers = usableHeaders(opts?.headers);
    const connectionParams = Object.fromEntries(
      Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]),
    );
    const key = JSON.stringify(Object.entries(connectionParams).sort(([a], [b]) => a.localeCompare(b)));
    if (!current || current.key !== key) {
      // One socket per identity, opened on the first subscription (lazy) and closed shortly after the
      // last one ends; the old client is left to wind down on its own so running subscriptions survive.
      const client = createClient({
        url: endpoints.wsUrl,
        connectionParams: () => connectionParams,
        lazy: true,
        lazyCloseTimeout: 3_000,
        retryAttempts: 3,
      });
      current = {
        key,
        client,
        fetcher: createGraphiQLFetcher({ url: endpoints.httpUrl, wsClient: client }),
      };
    }
    return current.fetcher(params, { ...opts, headers });
  };
}
