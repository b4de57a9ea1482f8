import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, openDb, type DbHandle } from '../../db/client.js';
import { seedInstruments } from '../../db/seed/instruments.js';
import { InstrumentMasterRepository } from './instrument-master.repository.js';

describe('importing broker instrument masters', () => {
  let handle: DbHandle;
  let repo: InstrumentMasterRepository;
  beforeAll(async () => {
    handle = await openDb({ dataDir: 'memory://' });
    await migrate(handle);
    await seedInstruments(handle.db);
    repo = new InstrumentMasterRepository(handle.db);
  });
  afterAll(async () => handle?.close());

  it('maps Kite tokens to our instruments by exchange and symbol, and a re-import updates in place', async () => {
    const csv = 'instrument_token,exchange_token,tradingsymbol,name,last_price,expiry,strike,tick_size,lot_size,instrument_type,segment,exchange\n408065,1594,INFY,INFOSYS,0,,,0.05,1,EQ,NSE,NSE\n1,1,NOTOURS,X,0,,,0.05,1,EQ,NSE,NSE\n';
    expect(await repo.import('zerodha', csv)).toEqual({ rows: 2, matched: 1 });
    expect(await repo.tokenOf('zerodha', 'NSE', 'INFY')).toBe('408065');
    expect(await repo.import('zerodha', csv.replace('408065', '408066'))).toEqual({ rows: 2, matched: 1 });
    expect(await repo.tokenOf('zerodha', 'NSE', 'INFY')).toBe('408066');
  });

  it('maps an Upstox row whose symbol differs to our instrument through its ISIN', async () => {
    const first = [{ exchange: 'NSE', isin: 'INE009A01021', instrument_key: 'NSE_EQ|INE009A01021', trading_symbol: 'INFY', lot_size: 1, tick_size: 5 }];
    expect(await repo.import('upstox', JSON.stringify(first))).toEqual({ rows: 1, matched: 1 });
    const renamed = [
      { exchange: 'NSE', isin: 'INE009A01021', instrument_key: 'NSE_EQ|INE009A01021-X', trading_symbol: 'INFOSYS', lot_size: 1, tick_size: 5 },
      { exchange: 'BSE', isin: 'INE009A01021', instrument_key: 'BSE_EQ|INE009A01021', trading_symbol: 'INFOSYS', lot_size: 1, tick_size: 5 },
    ];
    // The NSE row matches through the ISIN; the BSE one does not (our INFY is an NSE instrument).
    expect(await repo.import('upstox', JSON.stringify(renamed))).toEqual({ rows: 2, matched: 1 });
    expect(await repo.tokenOf('upstox', 'NSE', 'INFY')).toBe('NSE_EQ|INE009A01021');
  });

  it('refuses a broker without a known master format', async () => {
    await expect(repo.import('nobroker', '')).rejects.toThrow(/No instrument master format/);
  });

  it('imports a Fyers master (ticker as token, matched by exchange + symbol) and a Groww one (matched through the ISIN)', async () => {
    const fyers = '10100000001594,INFOSYS LIMITED,0,1,0.05,INE009A01021,0915-1530|1815-1915:,1717488000,,NSE:INFY-EQ,10,10,1594,INFY,1594,-1.0,XX,10100000001594,None,1,None\nbad line\n';
    expect(await repo.importMaster('fyers', fyers)).toEqual({ imported: 1, matched: 1, skipped: 1, errors: [{ line: 2, message: expect.stringMatching(/columns/) }] });
    expect(await repo.tokenOf('fyers', 'NSE', 'INFY')).toBe('NSE:INFY-EQ');
    const groww = 'exchange,exchange_token,trading_symbol,groww_symbol,isin,lot_size,tick_size\nNSE,1594,INFOSYS,NSE-INFOSYS,INE009A01021,1,0.05\nNSE,1594,INFOSYS,NSE-INFOSYS,INE009A01021,1,0.05\n';
    // Listed twice: stored once, the earlier line skipped; matched to our INFY through the ISIN of the Fyers row.
    expect(await repo.importMaster('groww', groww)).toEqual({ imported: 1, matched: 1, skipped: 1, errors: [] });
    expect(await repo.tokenOf('groww', 'NSE', 'INFY')).toBe('1594');
  });

  it('refuses a file that is not in the broker format with BAD_USER_INPUT naming the line', async () => {
    await expect(repo.importMaster('groww', 'symbol,token\nINFY,1\n')).rejects.toMatchObject({ code: 'BAD_USER_INPUT', details: { field: 'content', reason: 'BAD_FORMAT', line: 1 } });
    await expect(repo.importMaster('upstox', '[{"a":1},\n{')).rejects.toMatchObject({ code: 'BAD_USER_INPUT', details: { line: 2 } });
  });
});
