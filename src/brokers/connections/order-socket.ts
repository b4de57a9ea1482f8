import WebSocket from 'ws';
import type { Logger } from '../../lib/logger.js';

/**
 * Drop a socket for good: no more events reach its handlers, and one still connecting does not raise an
 * unhandled 'error' ("closed before the connection was established") when it is terminated.
 */
export function terminateQuietly(ws: WebSocket): void {
  ws.removeAllListeners();
  ws.on('error', () => undefined);
  ws.terminate();
}

/** How to open one connection's socket: the URL and headers carry its token (never logged). */
export interface SocketTarget {
  url: string;
  headers?: Record<string, string>;
  /** Sent once the socket opens (a subscription message). */
  hello?: string[];
  /** A keep-alive text frame and how often (Fyers `__ping`, Angel One `ping`, every 10 s). */
  ping?: { text: string; everyMs: number };
}

export interface OrderSocketOptions {
  /** For log lines: "Upstox portfolio stream". */
  label: string;
  logger: Logger;
  /** Where and how to connect for this connection id; null when it cannot (no session). */
  target: (connectionId: string) => Promise<SocketTarget | null>;
  /** One text frame received on this connection's socket. */
  onText: (connectionId: string, text: string) => void;
  /** First reconnect delay; doubles per failed attempt up to `maxBackoffMs`. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

interface Slot {
  ws: WebSocket | null;
  attempts: number;
  retry: NodeJS.Timeout | null;
  ping: NodeJS.Timeout | null;
  opened: Promise<void> | null;
}

/**
 * A broker's order-update sockets, one per ACTIVE connection: `sync` opens sockets for the active
 * connections and closes the others; a socket that drops is reopened by itself after a backoff
 * (doubling from `minBackoffMs` to `maxBackoffMs`, reset once a socket opens), with a fresh target (so a
 * refreshed token or a newly authorized URL is used). Pushes are hints: what a socket misses, the
 * poller finds.
 */
export class OrderSocketSet {
  private readonly slots = new Map<string, Slot>();
  private closed = false;
  private follower: NodeJS.Timeout | undefined;

  constructor(private readonly o: OrderSocketOptions) {}

  async sync(active: string[]): Promise<void> {
    for (const id of [...this.slots.keys()]) if (!active.includes(id)) this.drop(id);
    for (const id of active) {
      if (this.slots.has(id)) continue;
      const slot: Slot = { ws: null, attempts: 0, retry: null, ping: null, opened: null };
      this.slots.set(id, slot);
      await this.open(id, slot);
    }
  }

  /**
   * Keep following the active connections every `everyMs` (and now), so a newly connected account gets
   * its socket without waiting for a poll pass.
   */
  follow(active: () => Promise<string[]>, everyMs: number): void {
    if (this.follower || this.closed) return;
    const tick = () => void active().then((ids) => this.sync(ids)).catch((err: Error) => this.o.logger.debug({ err: { name: err.name, message: err.message } }, `${this.o.label}: sync failed`));
    this.follower = setInterval(tick, everyMs);
    this.follower.unref();
    tick();
  }

  /** Number of open sockets (tests, metrics). */
  get openCount(): number {
    return [...this.slots.values()].filter((s) => s.ws?.readyState === WebSocket.OPEN).length;
  }

  /** Resolves once every connection's socket is open (tests). */
  async ready(timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.slots.size > 0 && this.openCount === this.slots.size) return;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`${this.o.label}: sockets not open after ${timeoutMs} ms`);
  }

  private async open(id: string, slot: Slot): Promise<void> {
    if (this.closed || this.slots.get(id) !== slot) return;
    let target: SocketTarget | null = null;
    try {
      target = await this.o.target(id);
    } catch (err) {
      this.o.logger.debug({ connectionId: id, err: { name: (err as Error).name, message: (err as Error).message } }, `${this.o.label}: no socket target`);
    }
    if (this.closed || this.slots.get(id) !== slot) return;
    if (!target) return this.later(id, slot);
    const ws = new WebSocket(target.url, { headers: target.headers, handshakeTimeout: 10_000 });
    slot.ws = ws;
    ws.on('open', () => {
      slot.attempts = 0;
      for (const m of target.hello ?? []) ws.send(m);
      if (target.ping) {
        const { text, everyMs } = target.ping;
        slot.ping = setInterval(() => ws.readyState === WebSocket.OPEN && ws.send(text), everyMs);
        slot.ping.unref();
      }
    });
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      try {
        this.o.onText(id, String(data));
      } catch {
        // a message we cannot read: polling covers it
      }
    });
    ws.on('error', () => undefined); // 'close' follows
    ws.on('close', () => {
      if (slot.ping) clearInterval(slot.ping);
      slot.ping = null;
      slot.ws = null;
      this.later(id, slot);
    });
  }

  private later(id: string, slot: Slot): void {
    if (this.closed || this.slots.get(id) !== slot || slot.retry) return;
    const min = this.o.minBackoffMs ?? 1_000;
    const delay = Math.min(this.o.maxBackoffMs ?? 60_000, min * 2 ** Math.min(slot.attempts, 16));
    slot.attempts++;
    this.o.logger.debug({ connectionId: id, delayMs: delay }, `${this.o.label}: socket closed, reconnecting`);
    slot.retry = setTimeout(() => {
      slot.retry = null;
      void this.open(id, slot);
    }, delay);
    slot.retry.unref();
  }

  private drop(id: string): void {
    const slot = this.slots.get(id);
    this.slots.delete(id);
    if (!slot) return;
    if (slot.retry) clearTimeout(slot.retry);
    if (slot.ping) clearInterval(slot.ping);
    if (slot.ws) terminateQuietly(slot.ws);
  }

  close(): void {
    this.closed = true;
    if (this.follower) clearInterval(this.follower);
    for (const id of [...this.slots.keys()]) this.drop(id);
  }
}
