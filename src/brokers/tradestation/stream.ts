/**
 * One of TradeStation's HTTP streams (`GET /brokerage/stream/accounts/{ids}/orders` or `/positions`):
 * a never-ending chunked response of JSON objects, one after another. The first objects are a snapshot,
 * closed by `{"StreamStatus":"EndSnapshot"}`; `{"Heartbeat":n,"Timestamp"}` arrives while nothing
 * changes; `{"StreamStatus":"GoAway"}` asks the client to reconnect; `{"Error","Message"}` reports a
 * problem. The connection is reopened (with a fresh access token) whenever it ends, fails or goes quiet
 * for longer than `idleMs`, after an exponential backoff that resets once data flows again.
 */

export type StreamState = 'connecting' | 'snapshot' | 'live' | 'waiting' | 'closed';

export interface StreamTarget {
  url: string;
  headers: Record<string, string>;
}

export interface ChunkedStreamOptions {
  /** URL and headers for the next connection (a fresh token each time); throws if the account cannot stream. */
  open: () => Promise<StreamTarget>;
  onMessage: (msg: Record<string, unknown>) => void;
  /** A connection was answered (200): its snapshot follows. */
  onConnected?: () => void;
  /** A `{"StreamStatus": ...}` message (EndSnapshot, GoAway), after the state has changed. */
  onStatus?: (status: string) => void;
  /** A connection failed, ended or was refused; `fatal` (an auth error) stops the stream. */
  onDrop?: (reason: string, err?: unknown) => { fatal: boolean } | void;
  /** No bytes (not even a heartbeat) for this long: the connection is dead. */
  idleMs?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class ChunkedJsonStream {
  state: StreamState = 'connecting';
  /** Connections made so far (1 after the first). */
  connects = 0;
  private closed = false;
  private abort: AbortController | undefined;

  constructor(private readonly o: ChunkedStreamOptions) {
    void this.run();
  }

  private async run(): Promise<void> {
    let backoff = this.o.minBackoffMs ?? 250;
    while (!this.closed) {
      let flowed = false;
      let reason = 'ended';
      try {
        this.state = 'connecting';
        const target = await this.o.open();
        if (this.closed) break;
        this.abort = new AbortController();
        const abort = this.abort;
        // No answer (headers) within the idle limit either: give up on this attempt.
        const answer = setTimeout(() => abort.abort(), this.o.idleMs ?? 30_000);
        const res = await fetch(target.url, { headers: { Accept: 'application/vnd.tradestation.streams.v2+json', ...target.headers }, signal: abort.signal }).finally(() => clearTimeout(answer));
        this.connects++;
        if (!res.ok || !res.body) {
          reason = `HTTP ${res.status}`;
          await res.body?.cancel().catch(() => undefined);
          if (res.status === 401 || res.status === 403) {
            if (this.o.onDrop?.(reason)?.fatal) break;
          }
        } else {
          this.state = 'snapshot';
          this.o.onConnected?.();
          reason = await this.read(res.body, () => {
            flowed = true;
            backoff = this.o.minBackoffMs ?? 250;
          });
        }
      } catch (err) {
        reason = (err as Error).name === 'AbortError' ? 'idle' : (err as Error).message;
        if (this.o.onDrop?.(reason, err)?.fatal) break;
      }
      if (this.closed) break;
      this.state = 'waiting';
      // GoAway: reconnect at once; anything else waits, longer each time nothing flowed.
      if (reason !== 'GoAway') {
        await sleep(backoff);
        if (!flowed) backoff = Math.min(backoff * 2, this.o.maxBackoffMs ?? 30_000);
      }
    }
    this.state = 'closed';
  }

  /** Read one connection until it ends; returns why it ended. */
  private async read(body: ReadableStream<Uint8Array>, onData: () => void): Promise<string> {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    const split = new JsonObjectSplitter();
    const idleMs = this.o.idleMs ?? 30_000;
    let idle = setTimeout(() => this.abort?.abort(), idleMs);
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return 'ended';
        clearTimeout(idle);
        idle = setTimeout(() => this.abort?.abort(), idleMs);
        for (const text of split.push(decoder.decode(value, { stream: true }))) {
          let msg: Record<string, unknown>;
          try {
            msg = JSON.parse(text) as Record<string, unknown>;
          } catch {
            continue;
          }
          onData();
          if (msg.StreamStatus === 'EndSnapshot') this.state = 'live';
          if (typeof msg.StreamStatus === 'string') this.o.onStatus?.(msg.StreamStatus);
          if (msg.StreamStatus === 'GoAway') {
            await reader.cancel().catch(() => undefined);
            return 'GoAway';
          }
          if ('Heartbeat' in msg || 'StreamStatus' in msg) continue;
          this.o.onMessage(msg);
        }
      }
    } finally {
      clearTimeout(idle);
    }
  }

  get live(): boolean {
    return this.state === 'live' || this.state === 'snapshot';
  }

  close(): void {
    this.closed = true;
    this.state = 'closed';
    this.abort?.abort();
  }
}

/** Cuts a character stream of concatenated JSON objects (with or without separators) into objects. */
export class JsonObjectSplitter {
  private buf = '';
  private depth = 0;
  private inString = false;
  private escaped = false;
  private start = -1;
  private scanned = 0;

  push(text: string): string[] {
    this.buf += text;
    const out: string[] = [];
    for (let i = this.scanned; i < this.buf.length; i++) {
      const c = this.buf[i];
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === '\\') this.escaped = true;
        else if (c === '"') this.inString = false;
        continue;
      }
      if (c === '"') this.inString = true;
      else if (c === '{') {
        if (this.depth === 0) this.start = i;
        this.depth++;
      } else if (c === '}' && this.depth > 0) {
        this.depth--;
        if (this.depth === 0) out.push(this.buf.slice(this.start, i + 1));
      }
    }
    // Keep only the unfinished object.
    if (this.depth === 0) {
      this.buf = '';
      this.scanned = 0;
    } else {
      this.buf = this.buf.slice(this.start);
      this.scanned = this.buf.length;
      this.start = 0;
    }
    return out;
  }
}
