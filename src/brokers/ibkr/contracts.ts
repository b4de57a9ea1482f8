import { BrokerRejectedError } from '../broker.js';
import type { BrokerInstruments } from '../connections/sessions.js';
import type { WireRequest } from '../connections/wire-http.js';
import { toIbExchange, toOurExchange } from './wire.js';

/**
 * IBKR contract ids (`conid`, stable for an instrument's life) for our symbol + exchange: from the
 * broker-instruments table when it has an `ibkr` row, else `GET /trsrv/stocks?symbols=` (the stock
 * contract on our exchange, else the US one), else `POST /iserver/secdef/search`. Cached in memory, both
 * ways (conid → our instrument, for positions and pushes).
 */
export class IbkrContracts {
  private readonly conids = new Map<string, number>();
  private readonly byConid = new Map<number, { symbol: string; exchange: string }>();

  constructor(
    private readonly d: {
      call: <T>(account: string, req: WireRequest, what: string) => Promise<T>;
      instruments?: BrokerInstruments;
    },
  ) {}

  /** The contract id of an instrument: imported master, memory, then /trsrv/stocks, then /iserver/secdef/search. */
  async conidOf(account: string, i: { symbol: string; exchange: string }): Promise<number> {
    const key = `${i.exchange}|${i.symbol}`;
    let conid = this.conids.get(key);
    if (conid) return conid;
    const token = await this.d.instruments?.tokenOf('ibkr', i.exchange, i.symbol);
    if (token && /^\d+$/.test(token)) conid = Number(token);
    if (!conid) {
      type Stocks = Record<string, Array<{ assetClass?: string; contracts?: Array<{ conid: number; exchange?: string; isUS?: boolean }> }>>;
      const stocks = await this.d.call<Stocks>(account, { method: 'GET', path: '/trsrv/stocks', query: { symbols: i.symbol } }, 'contract lookup');
      const contracts = (stocks?.[i.symbol] ?? []).filter((s) => !s.assetClass || s.assetClass === 'STK').flatMap((s) => s.contracts ?? []);
      conid = (contracts.find((c) => toOurExchange(c.exchange) === i.exchange) ?? contracts.find((c) => c.isUS))?.conid;
    }
    if (!conid) {
      type Hit = { conid: number | string; description?: string; symbol?: string };
      const hits = await this.d.call<Hit[]>(account, { method: 'POST', path: '/iserver/secdef/search', json: { symbol: i.symbol, name: false, secType: 'STK' } }, 'contract search');
      const hit = (Array.isArray(hits) ? hits : []).find((h) => (h.description ?? '').toUpperCase() === toIbExchange(i.exchange)) ?? (Array.isArray(hits) ? hits[0] : undefined);
      if (hit) conid = Number(hit.conid);
    }
    if (!conid) throw new BrokerRejectedError(`IBKR has no stock contract for ${i.symbol} on ${i.exchange}`);
    this.conids.set(key, conid);
    this.byConid.set(conid, { symbol: i.symbol, exchange: i.exchange });
    return conid;
  }

  instrumentOf(conid: number | string | undefined): { symbol: string; exchange: string } | undefined {
    return conid === undefined ? undefined : this.byConid.get(Number(conid));
  }
}
