/** A load-generator's GraphQL client: keep-alive HTTP for operations, graphql-ws for subscriptions. */
import http from 'node:http';
import WebSocket from 'ws';
import { createClient, type Client } from 'graphql-ws';

export interface GqlError {
  message: string;
  extensions?: { code?: string; [k: string]: unknown };
}

export interface GqlResponse<T> {
  status: number;
  data?: T;
  errors?: GqlError[];
}

export class GqlHttp {
  private readonly agent: http.Agent;
  private readonly urls: URL[];
  private next = 0;

  /** Several base URLs (api replicas): requests go round-robin, as a load balancer in front of them would send them. */
  constructor(baseUrl: string | string[], maxSockets: number) {
    this.urls = (Array.isArray(baseUrl) ? baseUrl : [baseUrl]).map((u) => new URL('/graphql', u));
    // Keep-alive and enough sockets for every concurrent client: no connection set-up per request.
    this.agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  }

  request<T>(query: string, variables: Record<string, unknown>, token?: string): Promise<GqlResponse<T>> {
    const body = JSON.stringify({ query, variables });
    const url = this.urls[this.next++ % this.urls.length];
    return new Promise((resolve, reject) => {
      const req = http.request(
        url,
        {
          method: 'POST',
          agent: this.agent,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            ...(token ? { authorization: `Bearer ${token}` } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            try {
              const json = JSON.parse(text) as { data?: T; errors?: GqlError[] };
              resolve({ status: res.statusCode ?? 0, data: json.data ?? undefined, errors: json.errors });
            } catch {
              resolve({ status: res.statusCode ?? 0, errors: [{ message: `non-JSON response: ${text.slice(0, 200)}` }] });
            }
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  /** The data, or throw with the errors (set-up steps that must succeed). */
  async must<T>(query: string, variables: Record<string, unknown>, token?: string): Promise<T> {
    const r = await this.request<T>(query, variables, token);
    if (r.errors?.length || !r.data) throw new Error(`GraphQL failed (${r.status}): ${JSON.stringify(r.errors ?? r)}`);
    return r.data;
  }

  close(): void {
    this.agent.destroy();
  }
}

export function wsClient(wsUrl: string, token: string): Client {
  return createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
    lazy: false,
  });
}
