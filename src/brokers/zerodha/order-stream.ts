import WebSocket from 'ws';
import type { Logger } from '../../lib/logger.js';
import type { BrokerSessions } from '../connections/sessions.js';
import { terminateQuietly } from '../connections/order-socket.js';
import type { KiteOrderRow } from './wire.js';

/**
 * Kite's WebSocket order updates: one socket per ACTIVE connection at `wss://ws.kite.trade?api_key=&
 * access_token=`; text frames `{"type":"order","data":{…}}` carry the order in the postback's shape
 * (binary frames are market ticks, ignored here). Sockets follow the set of active connections on every
 * `sync`; a dropped socket is reopened on the next one. The URL carries the token: it is never logged.
 */
export class KiteOrderStream {
  private readonly sockets = new Map<string, WebSocket>();

  constructor(
    private readonly deps: {
      wsUrl: string;
      sessions: BrokerSessions;
      logger: Logger;
      onOrder: (account: string, row: KiteOrderRow) => void;
    },
  ) {}

  /** Open sockets for these connections, close the others. */
  async sync(active: string[]): Promise<void> {
    for (const [id, ws] of this.sockets) {
      if (!active.includes(id) || ws.readyState === WebSocket.CLOSED || ws.readyState === WebSocket.CLOSING) {
        terminateQuietly(ws);
        this.sockets.delete(id);
      }
    }
    for (const id of active) {
      if (this.sockets.has(id)) continue;
      const c = await this.deps.sessions.open(id).catch(() => null);
      if (!c?.app.apiKey) continue;
      const u = new URL(this.deps.wsUrl);
      u.searchParams.set('api_key', c.app.apiKey);
      u.searchParams.set('access_token', c.session.accessToken);
      const ws = new WebSocket(u);
      ws.on('message', (data, isBinary) => {
        if (isBinary) return;
        try {
          const msg = JSON.parse(String(data)) as { type?: string; data?: KiteOrderRow };
          if (msg.type === 'order' && msg.data?.order_id) this.deps.onOrder(id, msg.data);
        } catch {
          // not an order message
        }
      });
      ws.on('error', () => this.deps.logger.debug({ connectionId: id }, 'Kite order stream error; reopened on the next poll'));
      this.sockets.set(id, ws);
    }
  }

  /** Resolves once every socket is open (tests). */
  async ready(): Promise<void> {
    await Promise.all(
      [...this.sockets.values()].map((ws) =>
        ws.readyState === WebSocket.OPEN
          ? undefined
          : new Promise<void>((resolve, reject) => {
              ws.once('open', () => resolve());
              ws.once('close', (code) => reject(new Error(`Kite order stream closed (${code})`)));
            }),
      ),
    );
  }

  close(): void {
    for (const ws of this.sockets.values()) terminateQuietly(ws);
    this.sockets.clear();
  }
}
