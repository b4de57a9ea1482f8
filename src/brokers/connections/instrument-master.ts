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

/** A line (CSV) or entry (JSON array, 1-based) a master reader refused. */
export interface MasterLineError {
  line: number;
  message: string;
}

export interface MasterParse {
  rows: MasterRow[];
  errors: MasterLineError[];
}

/** The file as a whole is not in the broker's format (no such header, not JSON): at this line. */
export class MasterFormatError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
    this.name = 'MasterFormatError';
  }
}

/** A minimal RFC 4180 CSV reader (quoted fields, doubled quotes): each record with the line it starts on. */
export function readCsv(text: string): Array<{ line: number; fields: string[] }> {
  const out: Array<{ line: number; fields: string[] }> = [];
  let field = '';
  let row: string[] = [];
  let quoted = false;
  let line = 1;
  let start = 1;
  const end = () => {
    row.push(field);
    if (row.some((f) => f.trim() !== '')) out.push({ line: start, fields: row.map((f) => f.trim()) });
    row = [];
    field = '';
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\n') line++;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') row.push(field), (field = '');
    else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') (i++, line++);
      else if (ch === '\r') line++;
      end();
      start = line;
    } else field += ch;
  }
  end();
  return out;
}

/** CSV with a header line: one object per record, keyed by the header's names. */
export function parseCsv(text: string): Record<string, string>[] {
  const [header, ...body] = readCsv(text);
  const names = header?.fields ?? [];
  return body.map((r) => Object.fromEntries(names.map((n, i) => [n, r.fields[i] ?? ''])));
}

const isNum = (v: unknown) => v !== undefined && v !== null && v !== '' && !Number.isNaN(Number(v));
const decOrNull = (v: unknown) => (isNum(v) ? fmt(dec(String(v))) : null);
/** Paise (Upstox, Angel One) to rupees. */
const paise = (v: unknown) => (isNum(v) ? fmt(dec(String(v)).div(100)) : null);

/** Read a headed CSV master: required columns checked on line 1, each record mapped or refused by line. */
function headedCsv(text: string, broker: string, required: string[], map: (r: Record<string, string>) => MasterRow | string): MasterParse {
  const [header, ...body] = readCsv(text);
  const names = header?.fields ?? [];
  const missing = required.filter((c) => !names.includes(c));
  if (missing.length) throw new MasterFormatError(`not a ${broker} instrument CSV: the header lacks ${missing.join(', ')}`, header?.line ?? 1);
  const out: MasterParse = { rows: [], errors: [] };
  for (const rec of body) {
    const r = Object.fromEntries(names.map((n, i) => [n, rec.fields[i] ?? '']));
    const m = map(r);
    if (typeof m === 'string') out.errors.push({ line: rec.line, message: m });
    else out.rows.push(m);
  }
  return out;
}

/** Read a JSON-array master: each entry mapped or refused by its 1-based position. */
function jsonArray(text: string, broker: string, map: (r: Record<string, unknown>) => MasterRow | string): MasterParse {
  let rows: unknown;
  try {
    rows = JSON.parse(text);
  } catch (err) {
    const at = Number(/position (\d+)/.exec((err as Error).message)?.[1] ?? 0);
    throw new MasterFormatError(`not a ${broker} instrument master: invalid JSON`, text.slice(0, at).split('\n').length);
  }
  if (!Array.isArray(rows)) throw new MasterFormatError(`the ${broker} instrument master is a JSON array`, 1);
  const out: MasterParse = { rows: [], errors: [] };
  rows.forEach((r, i) => {
    const m = typeof r === 'object' && r !== null ? map(r as Record<string, unknown>) : 'not an object';
    if (typeof m === 'string') out.errors.push({ line: i + 1, message: `entry ${i + 1}: ${m}` });
    else out.rows.push(m);
  });
  return out;
}

const bad = (what: string, v: unknown) => `${what} ${JSON.stringify(v)} is not a number`;

/**
 * Kite's instrument dump (CSV): instrument_token, exchange_token, tradingsymbol, name, last_price, expiry,
 * strike, tick_size, lot_size, instrument_type, segment, exchange. No ISIN in Kite's dump.
 */
export function readKiteMaster(text: string): MasterParse {
  return headedCsv(text, 'Kite', ['instrument_token', 'tradingsymbol', 'exchange'], (r) => {
    if (!r.instrument_token || !r.tradingsymbol || !r.exchange) return 'instrument_token, tradingsymbol and exchange are required';
    if (r.tick_size && !isNum(r.tick_size)) return bad('tick_size', r.tick_size);
    return { exchange: r.exchange, symbol: r.tradingsymbol, token: r.instrument_token, isin: null, lotSize: decOrNull(r.lot_size), tickSize: decOrNull(r.tick_size) };
  });
}

/**
 * Upstox's instrument master (JSON array): instrument_key (`NSE_EQ|INE009A01021`), exchange, trading_symbol,
 * isin, lot_size, tick_size. Upstox gives tick_size in paise (5.0 = ₹0.05): converted to rupees.
 */
export function readUpstoxMaster(text: string): MasterParse {
  return jsonArray(text, 'Upstox', (r) => {
    if (typeof r.instrument_key !== 'string' || typeof r.trading_symbol !== 'string') return 'instrument_key and trading_symbol are required';
    if (r.tick_size !== undefined && !isNum(r.tick_size)) return bad('tick_size', r.tick_size);
    return {
      exchange: String(r.exchange ?? String(r.segment ?? '').split('_')[0]),
      symbol: r.trading_symbol,
      token: r.instrument_key,
      isin: typeof r.isin === 'string' ? r.isin : null,
      lotSize: decOrNull(r.lot_size),
      tickSize: paise(r.tick_size),
    };
  });
}

/**
 * Angel One's scrip master (JSON array): token, symbol (`INFY-EQ`), name, expiry, strike, lotsize,
 * instrumenttype, exch_seg, tick_size (in paise, as Upstox's: unconfirmed). The `-EQ` series suffix is
 * dropped so equities match our symbols; the adapter adds it back on orders.
 */
export function readAngelMaster(text: string): MasterParse {
  return jsonArray(text, 'Angel One', (r) => {
    if (typeof r.token !== 'string' || typeof r.symbol !== 'string' || typeof r.exch_seg !== 'string') return 'token, symbol and exch_seg are required';
    return { exchange: r.exch_seg, symbol: r.symbol.replace(/-EQ$/, ''), token: r.token, isin: null, lotSize: decOrNull(r.lotsize), tickSize: paise(r.tick_size) };
  });
}

/**
 * The Fyers symbol master CSVs (`public.fyers.in/sym_details/NSE_CM.csv`, NSE_FO, BSE_CM, MCX_COM…) have
 * no header; their documented columns are: 0 Fytoken, 1 Symbol Details, 2 Exchange Instrument type,
 * 3 Minimum lot size, 4 Tick size (rupees), 5 ISIN, 6 Trading Session, 7 Last update date, 8 Expiry date,
 * 9 Symbol ticker (`NSE:SBIN-EQ`, what orders name), 10 Exchange, 11 Segment, 12 Scrip code,
 * 13 Underlying symbol, 14 Underlying scrip code, 15 Strike price, 16 Option type, 17 Underlying FyToken,
 * 18–20 reserved. The token kept is the symbol ticker; the `-EQ` series is dropped from our symbol.
 */
export function readFyersMaster(text: string): MasterParse {
  const out: MasterParse = { rows: [], errors: [] };
  for (const { line, fields: f } of readCsv(text)) {
    if (line === 1 && /^fytoken$/i.test(f[0] ?? '')) continue; // a header some copies add
    if (f.length < 10) {
      out.errors.push({ line, message: `${f.length} columns; a Fyers symbol master line has 21 (Fytoken, Symbol Details, …, Symbol ticker as the 10th)` });
      continue;
    }
    const ticker = /^([A-Z]+):(.+)$/.exec(f[9]);
    if (!ticker) out.errors.push({ line, message: `symbol ticker ${JSON.stringify(f[9])} is not EXCHANGE:SYMBOL` });
    else if (!isNum(f[3]) || !isNum(f[4])) out.errors.push({ line, message: !isNum(f[3]) ? bad('minimum lot size', f[3]) : bad('tick size', f[4]) });
    else out.rows.push({ exchange: ticker[1], symbol: ticker[2].replace(/-EQ$/, ''), token: f[9], isin: f[5] || null, lotSize: decOrNull(f[3]), tickSize: decOrNull(f[4]) });
  }
  if (out.rows.length === 0 && out.errors.length > 0) throw new MasterFormatError(`not a Fyers symbol master: ${out.errors[0].message}`, out.errors[0].line);
  return out;
}

/**
 * Groww's instrument CSV (`growwapi-assets.groww.in/instruments/instrument.csv`), with a header: exchange,
 * exchange_token, trading_symbol, groww_symbol, name, instrument_type, segment, series, isin, …, lot_size,
 * tick_size (rupees), … (column order varies between copies: read by name). Orders name the
 * trading_symbol; the token kept is the exchange token.
 */
export function readGrowwMaster(text: string): MasterParse {
  return headedCsv(text, 'Groww', ['exchange', 'exchange_token', 'trading_symbol'], (r) => {
    if (!r.exchange || !r.exchange_token || !r.trading_symbol) return 'exchange, exchange_token and trading_symbol are required';
    if (r.tick_size && !isNum(r.tick_size)) return bad('tick_size', r.tick_size);
    if (r.lot_size && !isNum(r.lot_size)) return bad('lot_size', r.lot_size);
    return { exchange: r.exchange, symbol: r.trading_symbol, token: r.exchange_token, isin: r.isin || null, lotSize: decOrNull(r.lot_size), tickSize: decOrNull(r.tick_size) };
  });
}

/** Each broker's master reader, by broker name. */
export const MASTER_READERS: Record<string, (text: string) => MasterParse> = {
  zerodha: readKiteMaster,
  upstox: readUpstoxMaster,
  angelone: readAngelMaster,
  fyers: readFyersMaster,
  groww: readGrowwMaster,
};

export const parseKiteMaster = (text: string) => readKiteMaster(text).rows;
export const parseUpstoxMaster = (text: string) => readUpstoxMaster(text).rows;
export const parseAngelMaster = (text: string) => readAngelMaster(text).rows;

/** The rows only (errors dropped), by broker name. */
export const MASTER_PARSERS: Record<string, (text: string) => MasterRow[]> = Object.fromEntries(Object.entries(MASTER_READERS).map(([k, read]) => [k, (t: string) => read(t).rows]));
