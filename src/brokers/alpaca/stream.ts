import WebSocket from 'ws';
import type { AlpacaTradeUpdate } from './wire.js';

export type StreamState = 'connecting' | 'authorizing' | 'listening' | 'closed' | 'unauthorized';

/**
 * The two documented authentication messages: alpaca-py's `{"action":"authenticate","data":{"key_id",
 * "secret_key"}}` and the current docs' `{"action":"auth","key","secret"}`.
 */
export type StreamAuthForm = 'authenticate' | 'auth' | 'oauth';

/**
 * One account's `trade_updates` stream (docs.alpaca.markets "Websocket Streaming"; alpaca-py
 * `TradingStream`): connect to `wss://{paper-}api.alpaca.markets/stream`, send
 * `{"action":"authenticate","data":{"key_id","secret_key"}}`, wait for
 * `{"stream":"authorization","data":{"status":"authorized"}}`, then
 * `{"action":"listen","data":{"streams":["trade_updates"]}}`. The paper host sends binary frames, the
 * live host text frames: both are JSON. A closed stream is reopened by the adapter's next poll pass.
 */
export class AlpacaTradeStream {
  state: StreamState = 'connecting';
  private authorized = false;
  private readonly ws: WebSocket;

  constructor(
    url: string,
    keyId: string,
    secretKey: string,
    private readonly onUpdate: (u: AlpacaTradeUpdate) => void,
    onEnd: (state: StreamState, authorized: boolean) => void,
    form: StreamAuthForm = 'authenticate',
  ) {
    this.ws = new WebSocket(url, { handshakeTimeout: 10_000 });
    this.ws.on('open', () => {
      this.state = 'authorizing';
      // OAuth connections: {"action":"authenticate","data":{"oauth_token"}} (the token comes as secretKey).
      const msg =
        form === 'oauth'
          ? { action: 'authenticate', data: { oauth_token: secretKey } }
          : form === 'auth'
            ? { action: 'auth', key: keyId, secret: secretKey }
            : { action: 'authenticate', data: { key_id: keyId, secret_key: secretKey } };
      this.ws.send(JSON.stringify(msg));
    });
    this.ws.on('message', (raw: WebSocket.RawData) => this.message(raw));
    this.ws.on('error', () => undefined); // 'close' follows
    this.ws.on('close', () => {
      const authorized = this.authorized;
      if (this.state !== 'unauthorized') this.state = 'closed';
      onEnd(this.state, authorized);
    });
  }

  private message(raw: WebSocket.RawData): void {
    let msg: { stream?: string; data?: Record<string, unknown> };
    try {
      msg = JSON.parse(Buffer.isBuffer(raw) ? raw.toString('utf8') : Array.isArray(raw) ? Buffer.concat(raw).toString('utf8') : Buffer.from(raw).toString('utf8'));
    } catch {
      return;
    }
    if (msg.stream === 'authorization') {
      if (msg.data?.status === 'authorized') this.authorized = true;
      if (msg.data?.status === 'authorized') this.ws.send(JSON.stringify({ action: 'listen', data: { streams: ['trade_updates'] } }));
      else {
        this.state = 'unauthorized';
        this.ws.close();
      }
    } else if (msg.stream === 'listening') {
      const streams = (msg.data?.streams ?? []) as string[];
      if (streams.includes('trade_updates')) this.state = 'listening';
    } else if (msg.stream === 'trade_updates' && msg.data) {
      this.onUpdate(msg.data as unknown as AlpacaTradeUpdate);
    }
  }

  get open(): boolean {
    return this.state === 'connecting' || this.state === 'authorizing' || this.state === 'listening';
  }

  close(): void {
    this.ws.removeAllListeners('close');
    this.ws.on('close', () => undefined);
    this.state = 'closed';
    this.ws.terminate();
  }
}
