import { BrokerRateLimitedError, BrokerTransientError } from '../broker.js';

/** One HTTP request to a broker, in the broker's own shape (built in its wire.ts). */
export interface WireRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | string[] | undefined>;
  /** application/x-www-form-urlencoded body (Kite). */
  form?: Record<string, string | undefined>;
  /** application/json body. */
  json?: unknown;
  headers?: Record<string, string>;
}

export interface WireResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON, or the text when the body is not JSON. */
  body: unknown;
}

export interface WireHttpOptions {
  /** Broker name, for error messages. */
  broker: string;
  baseUrl: string;
  timeoutMs?: number;
  /** How long to keep retrying after 429s, in total, before giving up with BrokerRateLimitedError. */
  max429WaitMs?: number;
  /** Delay when a 429 carries no Retry-After. */
  default429DelayMs?: number;
  /** The broker's own delay signal on a 429 when it is not Retry-After (Alpaca's X-Ratelimit-Reset). */
  retryAfter?: (headers: Headers) => number | undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * HTTP to a broker: JSON or form bodies, a timeout, and the transport-level rules every broker shares.
 * A network failure or timeout is BrokerTransientError; an HTTP 429 is retried after the broker's delay
 * (Retry-After, else a default) and becomes BrokerRateLimitedError once `max429WaitMs` is spent. Every
 * other status is returned for the broker's wire.ts to classify. Error messages name the method and
 * path only: never a header, query or body (they carry tokens).
 */
export class WireHttp {
  constructor(private readonly opts: WireHttpOptions) {}

  url(path: string, query?: WireRequest['query']): string {
    const u = new URL(this.opts.baseUrl.replace(/\/+$/, '') + path);
    for (const [k, v] of Object.entries(query ?? {})) {
      if (v === undefined) continue;
      for (const one of Array.isArray(v) ? v : [v]) u.searchParams.append(k, one);
    }
    return u.toString();
  }

  async send(req: WireRequest): Promise<WireResponse> {
    const deadline = Date.now() + (this.opts.max429WaitMs ?? 3_000);
    for (;;) {
      const res = await this.once(req);
      if (res.status !== 429) return res;
      const delay = retryAfterMs(res.headers) ?? this.opts.retryAfter?.(res.headers) ?? this.opts.default429DelayMs ?? 1_000;
      if (Date.now() + delay > deadline) throw new BrokerRateLimitedError(delay);
      await sleep(delay);
    }
  }

  private async once(req: WireRequest): Promise<WireResponse> {
    const headers: Record<string, string> = { ...req.headers };
    let body: string | undefined;
    if (req.form) {
      const p = new URLSearchParams();
      for (const [k, v] of Object.entries(req.form)) if (v !== undefined) p.append(k, v);
      body = p.toString();
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
    } else if (req.json !== undefined) {
      body = JSON.stringify(req.json);
      headers['Content-Type'] = 'application/json';
    }
    let res: Response;
    try {
      res = await fetch(this.url(req.path, req.query), {
        method: req.method,
        headers,
        body,
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
      });
    } catch {
      throw new BrokerTransientError(`${this.opts.broker} ${req.method} ${req.path}: no response (network error or timeout)`);
    }
    const text = await res.text().catch(() => '');
    let parsed: unknown = text;
    if (text && (res.headers.get('content-type') ?? '').includes('json')) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    return { status: res.status, headers: res.headers, body: parsed };
  }
}

/** Retry-After in seconds or as an HTTP date. */
export function retryAfterMs(headers: Headers): number | undefined {
  const v = headers.get('retry-after');
  if (!v) return undefined;
  const secs = Number(v);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
}
