import { describe, expect, it } from 'vitest';
import { parseAngelMaster, parseCsv, parseKiteMaster, parseUpstoxMaster } from './instrument-master.js';

describe('broker instrument masters', () => {
  it("reads Kite's CSV dump (the documented sample)", () => {
    const csv = [
      'instrument_token,exchange_token,tradingsymbol,name,last_price,expiry,strike,tick_size,lot_size,instrument_type,segment,exchange',
      '408065,1594,INFY,INFOSYS,0,,,0.05,1,EQ,NSE,NSE',
      '5720322,22345,NIFTY15DECFUT,,78.0,2015-12-31,,0.05,75,FUT,NFO-FUT,NFO',
    ].join('\n');
    expect(parseKiteMaster(csv)).toEqual([
      { exchange: 'NSE', symbol: 'INFY', token: '408065', isin: null, lotSize: '1', tickSize: '0.05' },
      { exchange: 'NFO', symbol: 'NIFTY15DECFUT', token: '5720322', isin: null, lotSize: '75', tickSize: '0.05' },
    ]);
  });

  it("reads Upstox's JSON master, tick size from paise to rupees", () => {
    const json = JSON.stringify([
      { segment: 'NSE_EQ', name: 'INFOSYS LIMITED', exchange: 'NSE', isin: 'INE009A01021', instrument_type: 'EQ', instrument_key: 'NSE_EQ|INE009A01021', lot_size: 1, exchange_token: '1594', tick_size: 5.0, trading_symbol: 'INFY' },
    ]);
    expect(parseUpstoxMaster(json)).toEqual([{ exchange: 'NSE', symbol: 'INFY', token: 'NSE_EQ|INE009A01021', isin: 'INE009A01021', lotSize: '1', tickSize: '0.05' }]);
  });

  it("reads Angel One's scrip master, dropping the -EQ series so equities match our symbols", () => {
    const json = JSON.stringify([{ token: '1594', symbol: 'INFY-EQ', name: 'INFY', expiry: '', strike: '-1.000000', lotsize: '1', instrumenttype: '', exch_seg: 'NSE', tick_size: '5.000000' }]);
    expect(parseAngelMaster(json)).toEqual([{ exchange: 'NSE', symbol: 'INFY', token: '1594', isin: null, lotSize: '1', tickSize: '0.05' }]);
  });

  it('reads quoted CSV fields with commas and doubled quotes', () => {
    expect(parseCsv('a,b\n"x, y","say ""hi"""\r\n')).toEqual([{ a: 'x, y', b: 'say "hi"' }]);
  });
});
