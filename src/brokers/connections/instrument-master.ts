import { dec, fmt } from '../../lib/decimal.js';

/** One row of a broker's instrument master, in our terms. */
export interface MasterRow {
  exchange: string;
  symbol: string;
  token: string;
  isin: string | null;
  lotSize: string | null;
  tickSize: string | null;
}

/** A minimal RFC 4180 CSV reader (quoted fields, doubled quotes), enough for broker masters. */
export function parseCsv(text: string): Record<string, string>[] {
  const rows: string[][] = [];
  let field = '';
  let row: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') row.push(field), (field = '');
    else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      if (row.some((f) => f !== '')) rows.push(row);
      row = [];
      field = '';
    } else field += ch;
  }
  row.push(field);
  if (row.some((f) => f !== '')) rows.push(row);
  const [header, ...body] = rows;
  const names = (header ?? []).map((h) => h.trim());
  return body.map((r) => Object.fromEntries(names.map((n, i) => [n, (r[i] ?? '').trim()])));
}

const decOrNull = (v: unknown) => (v === undefined || v === null || v === '' || Number.isNaN(Number(v)) ? null : fmt(dec(String(v))));

/**
 * Kite's instrument dump (CSV): instrument_token, exchange_token, tradingsymbol, name, last_price, expiry,
 * strike, tick_size, lot_size, instrument_type, segment, exchange. No ISIN in Kite's dump.
 */
export function parseKiteMaster(text: string): MasterRow[] {
  return parseCsv(text)
    .filter((r) => r.instrument_token && r.tradingsymbol && r.exchange)
    .map((r) => ({ exchange: r.exchange, symbol: r.tradingsymbol, token: r.instrument_token, isin: null, lotSize: decOrNull(r.lot_size), tickSize: decOrNull(r.tick_size) }));
}

/**
 * Upstox's instrument master (JSON array): instrument_key (`NSE_EQ|INE009A01021`), exchange, trading_symbol,
 * isin, lot_size, tick_size. Upstox gives tick_size in paise (5.0 = ₹0.05): converted to rupees.
 */
export function parseUpstoxMaster(text: string): MasterRow[] {
  const rows = JSON.parse(text) as Array<Record<string, unknown>>;
  if (!Array.isArray(rows)) throw new Error('the Upstox instrument master is a JSON array');
  return rows
    .filter((r) => typeof r.instrument_key === 'string' && typeof r.trading_symbol === 'string')
    .map((r) => ({
      exchange: String(r.exchange ?? String(r.segment ?? '').split('_')[0]),
      symbol: String(r.trading_symbol),
      token: String(r.instrument_key),
      isin: typeof r.isin === 'string' ? r.isin : null,
      lotSize: decOrNull(r.lot_size),
      tickSize: r.tick_size === undefined ? null : fmt(dec(String(r.tick_size)).div(100)),
    }));
}

/**
 * Angel One's scrip master (JSON array): token, symbol (`INFY-EQ`), name, expiry, strike, lotsize,
 * instrumenttype, exch_seg, tick_size (in paise, as Upstox's: unconfirmed). The `-EQ` series suffix is
 * dropped so equities match our symbols; the adapter adds it back on orders.
 */
export function parseAngelMaster(text: string): MasterRow[] {
  const rows = JSON.parse(text) as Array<Record<string, unknown>>;
  if (!Array.isArray(rows)) throw new Error('the Angel One scrip master is a JSON array');
  return rows
    .filter((r) => typeof r.token === 'string' && typeof r.symbol === 'string' && typeof r.exch_seg === 'string')
    .map((r) => ({
      exchange: String(r.exch_seg),
      symbol: String(r.symbol).replace(/-EQ$/, ''),
      token: String(r.token),
      isin: null,
      lotSize: decOrNull(r.lotsize),
      tickSize: r.tick_size === undefined || r.tick_size === '' ? null : fmt(dec(String(r.tick_size)).div(100)),
    }));
}

export const MASTER_PARSERS: Record<string, (text: string) => MasterRow[]> = {
  zerodha: parseKiteMaster,
  upstox: parseUpstoxMaster,
  angelone: parseAngelMaster,
};
