import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';

/**
 * The WebSocket side of a broker fake: upgrades on one path of the fake's HTTP server, authenticates the
 * handshake as the broker does (a header or a single-use URI code) and keeps each user's sockets, so the
 * fake can push order updates (optionally twice), stay silent, or drop the sockets to force a reconnect.
 */
export class FakeSocketHub {
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly byUser = new Map<string, Set<WebSocket>>();
  /** Every accepted handshake, in order (user ids). */
  readonly connections: string[] = [];
  /** Every text frame received, per user. */
  readonly received: Array<{ user: string; text: string }> = [];
  /** Push nothing (a lost push). */
  silent = false;
  /** Push every update twice (a repeated push). */
  duplicate = false;

  constructor(
    server: http.Server,
    private readonly o: {
      path: string;
      /** The user a handshake authenticates as, or null to refuse it (HTTP 401). */
      auth: (req: http.IncomingMessage, url: URL) => string | null;
      /** Sent to a socket right after the handshake (Angel One's AB00). */
      greet?: (user: string) => unknown;
      /** An answer to a text frame (a pong, a subscription ack), or undefined. */
      reply?: (user: string, text: string, ws: WebSocket) => unknown;
    },
  ) {
    server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname !== o.path) return socket.destroy();
      const user = o.auth(req, url);
      if (!user) {
        socket.write('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
        return socket.destroy();
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(user, ws));
    });
  }

  private accept(user: string, ws: WebSocket): void {
    const set = this.byUser.get(user) ?? new Set<WebSocket>();
    set.add(ws);
    this.byUser.set(user, set);
    this.connections.push(user);
    ws.on('close', () => set.delete(ws));
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const text = String(data);
      this.received.push({ user, text });
      const r = this.o.reply?.(user, text, ws);
      if (r !== undefined) ws.send(typeof r === 'string' ? r : JSON.stringify(r));
    });
    if (this.o.greet) ws.send(JSON.stringify(this.o.greet(user)));
  }

  /** The user's open sockets. */
  sockets(user: string): WebSocket[] {
    return [...(this.byUser.get(user) ?? [])];
  }

  count(user: string): number {
    return this.byUser.get(user)?.size ?? 0;
  }

  /** Push one message to every socket of the user (sockets may filter by subscription). */
  send(user: string, msg: unknown, filter: (ws: WebSocket) => boolean = () => true): void {
    if (this.silent) return;
    for (const ws of this.byUser.get(user) ?? []) {
      if (!filter(ws)) continue;
      for (let k = 0; k < (this.duplicate ? 2 : 1); k++) ws.send(JSON.stringify(msg));
    }
  }

  /** Cut the user's sockets, as a broker restart would. */
  drop(user: string): void {
    for (const ws of this.byUser.get(user) ?? []) ws.terminate();
  }

  close(): void {
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
  }
}
