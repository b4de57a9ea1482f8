import WebSocket from 'ws';
import type { IbkrLiveOrder, IbkrTrade } from './wire.js';

/**
 * The gateway's websocket (`wss://…/v1/api/ws`, interactivebrokers.github.io/cpwebapi "Websockets"):
 * authenticate with `{"session":"<id from /tickle>"}`, subscribe with the text messages `sor+{}` (live
 * orders) and `str+{}` (trades); the gateway answers JSON `{"topic":"sor","args":[…]}` /
 * `{"topic":"str","args":[…]}`, and `{"topic":"sts","args":{"authenticated":false}}` when the session
 * goes. `tic` keeps it alive. A closed socket is reopened by the adapter's next poll pass.
 */
export class IbkrStream {
  open = true;
  subscribed = false;
  private readonly ws: WebSocket;
  private readonly heartbeat: NodeJS.Timeout;

  constructor(
    url: string,
    session: string | null,
    insecureTls: boolean,
    private readonly on: {
      orders: (rows: IbkrLiveOrder[]) => void;
      trades: (rows: IbkrTrade[]) => void;
      sessionLost: () => void;
    },
  ) {
    this.ws = new WebSocket(url, { handshakeTimeout: 10_000, rejectUnauthorized: !insecureTls, headers: session ? { Cookie: `api=${JSON.stringify({ session })}` } : {} });
    this.ws.on('open', () => {
      if (session) this.ws.send(JSON.stringify({ session }));
      this.ws.send('sor+{}');
      this.ws.send('str+{}');
      this.subscribed = true;
    });
    this.ws.on('message', (raw: WebSocket.RawData) => this.message(raw));
    this.ws.on('error', () => undefined);
    this.ws.on('close', () => {
      this.open = false;
      clearInterval(this.heartbeat);
    });
    this.heartbeat = setInterval(() => {
      if (this.ws.readyState === WebSocket.OPEN) this.ws.send('tic');
    }, 55_000);
    this.heartbeat.unref();
  }

  private message(raw: WebSocket.RawData): void {
    let msg: { topic?: string; args?: unknown };
    try {
      msg = JSON.parse(Buffer.isBuffer(raw) ? raw.toString('utf8') : Array.isArray(raw) ? Buffer.concat(raw).toString('utf8') : Buffer.from(raw).toString('utf8'));
    } catch {
      return;
    }
    if (msg.topic === 'sor' && Array.isArray(msg.args)) this.on.orders(msg.args as IbkrLiveOrder[]);
    else if (msg.topic === 'str' && Array.isArray(msg.args)) this.on.trades(msg.args as IbkrTrade[]);
    else if (msg.topic === 'sts' && (msg.args as { authenticated?: boolean } | undefined)?.authenticated === false) this.on.sessionLost();
  }

  close(): void {
    clearInterval(this.heartbeat);
    this.open = false;
    this.ws.removeAllListeners('close');
    this.ws.on('close', () => undefined);
    this.ws.terminate();
  }
}
