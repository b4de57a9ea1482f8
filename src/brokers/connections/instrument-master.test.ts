import { describe, expect, it } from 'vitest';
import { MasterFormatError, parseAngelMaster, parseCsv, parseKiteMaster, parseUpstoxMaster, readCsv, readFyersMaster, readGrowwMaster, readUpstoxMaster } from './instrument-master.js';

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

  it('reads a Fyers symbol master CSV (no header, the 21 documented columns): ticker as token, -EQ dropped, ISIN, lot and tick', () => {
    const csv = [
      '10100000003045,STATE BANK OF INDIA,0,1,0.05,INE062A01020,0915-1530|1815-1915:,1717488000,,NSE:SBIN-EQ,10,10,3045,SBIN,3045,-1.0,XX,10100000003045,None,1,None',
      '10100000004884,STATE BANK OF INDIA,0,1,0.01,INE062A01020,0915-1530|1815-1915:,1717488000,,NSE:SBIN-BE,10,10,4884,SBIN,4884,-1.0,XX,10100000004884,None,1,None',
      '1011250626035003,NIFTY 25 Jun 26 25000 CE,14,75,0.05,,0915-1530|1815-1915:,1717488000,1782468000,NSE:NIFTY2562625000CE,10,11,35003,NIFTY,26000,25000.0,CE,101000000026000,None,1,None',
    ].join('\r\n');
    expect(readFyersMaster(csv)).toEqual({
      rows: [
        { exchange: 'NSE', symbol: 'SBIN', token: 'NSE:SBIN-EQ', isin: 'INE062A01020', lotSize: '1', tickSize: '0.05' },
        { exchange: 'NSE', symbol: 'SBIN-BE', token: 'NSE:SBIN-BE', isin: 'INE062A01020', lotSize: '1', tickSize: '0.01' },
        { exchange: 'NSE', symbol: 'NIFTY2562625000CE', token: 'NSE:NIFTY2562625000CE', isin: null, lotSize: '75', tickSize: '0.05' },
      ],
      errors: [],
    });
  });

  it('reports a bad Fyers line by its line number and imports the rest; a file with no good line is refused at its first', () => {
    const good = '10100000001594,INFOSYS LIMITED,0,1,0.05,INE009A01021,0915-1530|1815-1915:,1717488000,,NSE:INFY-EQ,10,10,1594,INFY,1594,-1.0,XX,10100000001594,None,1,None';
    const r = readFyersMaster([good, '1,short,line', good.replace(',1,0.05,', ',one,0.05,').replace('INFY-EQ', 'INFY-BE')].join('\n'));
    expect(r.rows.map((x) => x.token)).toEqual(['NSE:INFY-EQ']);
    expect(r.errors).toEqual([
      { line: 2, message: expect.stringMatching(/3 columns/) },
      { line: 3, message: expect.stringMatching(/minimum lot size "one"/) },
    ]);
    expect(() => readFyersMaster('instrument_token,tradingsymbol\n1,INFY\n')).toThrow(MasterFormatError);
  });

  it("reads Groww's instrument CSV by its header (column order as in the published file), tick in rupees", () => {
    const csv = [
      'exchange,exchange_token,trading_symbol,groww_symbol,name,instrument_type,segment,series,isin,underlying_symbol,underlying_exchange_token,expiry_date,strike_price,lot_size,tick_size,freeze_quantity,is_reserved,buy_allowed,sell_allowed',
      'NSE,2885,RELIANCE,NSE-RELIANCE,Reliance Industries,EQ,CASH,EQ,INE002A01018,,,,,1,0.05,100000,1,1,1',
      'BSE,500325,RELIANCE,BSE-RELIANCE,"Reliance Industries, Ltd",EQ,CASH,A,INE002A01018,,,,,1,0.05,100000,1,1,1',
      'NSE,35241,NIFTY25DEC27000PE,NSE-NIFTY-24Dec25-27000-PE,,PE,FNO,,,NIFTY,26009,2025-12-24,27000,65,0.05,601,1,1,1',
      'NSE,,BROKEN,NSE-BROKEN,,EQ,CASH,EQ,,,,,,1,0.05,,0,1,1',
    ].join('\n');
    const r = readGrowwMaster(csv);
    expect(r.rows).toEqual([
      { exchange: 'NSE', symbol: 'RELIANCE', token: '2885', isin: 'INE002A01018', lotSize: '1', tickSize: '0.05' },
      { exchange: 'BSE', symbol: 'RELIANCE', token: '500325', isin: 'INE002A01018', lotSize: '1', tickSize: '0.05' },
      { exchange: 'NSE', symbol: 'NIFTY25DEC27000PE', token: '35241', isin: null, lotSize: '65', tickSize: '0.05' },
    ]);
    expect(r.errors).toEqual([{ line: 5, message: expect.stringMatching(/exchange_token/) }]);
    expect(() => readGrowwMaster('exchange,symbol\nNSE,INFY\n')).toThrow(/lacks exchange_token, trading_symbol/);
  });

  it('numbers CSV records by the file line they start on, across quoted newlines and CRLF', () => {
    expect(readCsv('a,b\r\n"x\ny",1\r\n\r\nz,2').map((r) => r.line)).toEqual([1, 2, 5]);
  });

  it('reports a bad JSON entry by its position, and invalid JSON by its line', () => {
    const r = readUpstoxMaster(JSON.stringify([{ instrument_key: 'NSE_EQ|X', trading_symbol: 'X', exchange: 'NSE' }, { trading_symbol: 'Y' }]));
    expect(r.errors).toEqual([{ line: 2, message: expect.stringMatching(/^entry 2: instrument_key/) }]);
    try {
      readUpstoxMaster('[\n{"a":1},\n{oops}\n]');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(MasterFormatError);
      expect((err as MasterFormatError).line).toBe(3);
    }
  });
});
