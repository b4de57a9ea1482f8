import { z } from 'zod';
import type { BrokerEndpoint } from './config.type.js';
import { ConfigError } from './config-error.js';

/** Production endpoints of each real broker; BROKER_<NAME>_BASE_URL / _LOGIN_URL / _WS_URL override them. */
const BROKER_DEFAULTS: Record<string, { baseUrl: string; loginUrl?: string; wsUrl?: string; orderUrl?: string; dataUrl?: string; product: string }> = {
  zerodha: { baseUrl: 'https://api.kite.trade', loginUrl: 'https://kite.zerodha.com/connect/login', wsUrl: 'wss://ws.kite.trade', product: 'CNC' },
  // Upstox's wsUrl only switches the portfolio stream on: each connect asks /v2/feed/portfolio-stream-feed/authorize for its URI.
  upstox: { baseUrl: 'https://api.upstox.com', loginUrl: 'https://api.upstox.com/v2/login/authorization/dialog', wsUrl: 'wss://api.upstox.com/v2/feed/portfolio-stream-feed', orderUrl: 'https://api-hft.upstox.com', product: 'D' },
  fyers: { baseUrl: 'https://api-t1.fyers.in', loginUrl: 'https://api-t1.fyers.in/api/v3/generate-authcode', wsUrl: 'wss://socket.fyers.in/trade/v3', product: 'CNC' },
  angelone: { baseUrl: 'https://apiconnect.angelone.in', wsUrl: 'wss://tns.angelone.in/smart-order-update', product: 'DELIVERY' },
  groww: { baseUrl: 'https://api.groww.in', product: 'CNC' },
  // Live hosts; paper keys need BROKER_ALPACA_BASE_URL=https://paper-api.alpaca.markets and _WS_URL=wss://paper-api.alpaca.markets/stream.
  alpaca: { baseUrl: 'https://api.alpaca.markets', wsUrl: 'wss://api.alpaca.markets/stream', dataUrl: 'https://data.alpaca.markets', product: 'simple' },
  // API v3 (sim accounts: BROKER_TRADESTATION_BASE_URL=https://sim-api.tradestation.com/v3); PRODUCT is the order Route.
  tradestation: { baseUrl: 'https://api.tradestation.com/v3', loginUrl: 'https://signin.tradestation.com/authorize', product: 'Intelligent' },
  // The user's own Client Portal Gateway; its websocket follows BASE_URL (…/ws) unless _WS_URL is set.
  ibkr: { baseUrl: 'https://localhost:5000/v1/api', wsUrl: 'wss://localhost:5000/v1/api/ws', product: 'STK' },
};

export function brokerEndpoints(env: Record<string, string | undefined>): Record<string, BrokerEndpoint> {
  const out: Record<string, BrokerEndpoint> = {};
  const url = z.string().url();
  for (const [name, d] of Object.entries(BROKER_DEFAULTS)) {
    const key = `BROKER_${name.toUpperCase()}_`;
    const pick = (suffix: string, fallback?: string) => {
      const v = env[key + suffix];
      if (v === undefined) return fallback;
      if (!url.safeParse(v).success) throw new ConfigError(`Invalid configuration:\n  ${key + suffix}: must be a URL`);
      return v;
    };
    const baseUrl = pick('BASE_URL', d.baseUrl)!;
    // A base URL pointed elsewhere (a sandbox, a test fake) must not leave the order host or socket on
    // production: they follow it (orders) or stay off (sockets) unless set too.
    const moved = Boolean(env[key + 'BASE_URL']);
    const orderUrl = pick('ORDER_URL', moved ? baseUrl : d.orderUrl);
    out[name] = { baseUrl, loginUrl: pick('LOGIN_URL', d.loginUrl), wsUrl: pick('WS_URL', moved ? undefined : d.wsUrl), orderUrl, product: env[key + 'PRODUCT'] ?? d.product };
    const dataUrl = pick('DATA_URL', d.dataUrl);
    if (dataUrl) out[name].dataUrl = dataUrl;
  }
  return out;
}
