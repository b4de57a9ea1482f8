import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.js';
import { modes } from './support/env.js';
import { collect, errorCode, gql, must, newUser, waitFor, wsClient } from './support/gql.js';
import { waitForQuote } from './support/trading.js';
import { SEED_INSTRUMENTS } from '../src/db/seed/instruments.js';

const FIELDS = 'id name createdAt updatedAt items { instrument { symbol exchange } note addedAt quote { last } dayChange dayChangePercent }';

describe.each(modes())('watchlists with live quotes (%s)', (mode) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ mode });
    await waitForQuote(server, 'RELIANCE');
    await waitForQuote(server, 'AAPL', 'NASDAQ');
  });
  afterAll(async () => {
    await server?.close();
  });

  it('creates, adds with a note, renames, removes and deletes; items carry quotes and the day’s change', async () => {
    const u = await newUser(server);
    const c = await must<{ createWatchlist: { id: string; items: { instrument: { symbol: string } }[] } }>(
      server,
      `mutation{ createWatchlist(name:"Banks", symbols:["HDFCBANK","NSE:ICICIBANK"]){ ${FIELDS} } }`,
      {},
      u.token,
    );
    const id = c.createWatchlist.id;
    expect(c.createWatchlist.items.map((i) => i.instrument.symbol)).toEqual(['HDFCBANK', 'ICICIBANK']);
    const added = await must<{ addToWatchlist: { items: { instrument: { symbol: string }; note: string | null; quote: { last: string } | null; dayChange: string | null; dayChangePercent: number | null }[] } }>(
      server,
      `mutation($w:ID!){ addToWatchlist(watchlistId:$w, symbol:"RELIANCE", note:"results on Friday"){ ${FIELDS} } }`,
      { w: id },
      u.token,
    );
    const rel = added.addToWatchlist.items.find((i) => i.instrument.symbol === 'RELIANCE')!;
    expect(rel.note).toBe('results on Friday');
    expect(rel.quote?.last).toBeTruthy();
    expect(rel.dayChange).not.toBeNull();
    expect(typeof rel.dayChangePercent).toBe('number');
    // Adding again changes the note, not the list.
    const again = await must<{ addToWatchlist: { items: { note: string | null }[] } }>(server, `mutation($w:ID!){ addToWatchlist(watchlistId:$w, symbol:"RELIANCE", note:"moved"){ items { note } } }`, { w: id }, u.token);
    expect(again.addToWatchlist.items).toHaveLength(3);
    expect(again.addToWatchlist.items.map((i) => i.note)).toContain('moved');

    const renamed = await must<{ renameWatchlist: { name: string } }>(server, `mutation($w:ID!){ renameWatchlist(id:$w, name:"Private banks"){ name } }`, { w: id }, u.token);
    expect(renamed.renameWatchlist.name).toBe('Private banks');
    const removed = await must<{ removeFromWatchlist: { items: { instrument: { symbol: string } }[] } }>(server, `mutation($w:ID!){ removeFromWatchlist(watchlistId:$w, symbol:"HDFCBANK"){ items { instrument { symbol } } } }`, { w: id }, u.token);
    expect(removed.removeFromWatchlist.items.map((i) => i.instrument.symbol)).toEqual(['ICICIBANK', 'RELIANCE']);
    const notThere = await gql(server, `mutation($w:ID!){ removeFromWatchlist(watchlistId:$w, symbol:"HDFCBANK"){ id } }`, { w: id }, u.token);
    expect(notThere.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'symbol', reason: 'NOT_IN_WATCHLIST' });

    const list = await must<{ watchlists: { id: string }[] }>(server, `{ watchlists { id } }`, {}, u.token);
    expect(list.watchlists.map((w) => w.id)).toEqual([id]);
    expect((await must<{ deleteWatchlist: boolean }>(server, `mutation($w:ID!){ deleteWatchlist(id:$w) }`, { w: id }, u.token)).deleteWatchlist).toBe(true);
    expect(errorCode(await gql(server, `query($w:ID!){ watchlist(id:$w){ id } }`, { w: id }, u.token))).toBe('NOT_FOUND');
  });

  it('holds at most 200 instruments; the 201st is WATCHLIST_FULL and nothing is written', async () => {
    const u = await newUser(server);
    const all = SEED_INSTRUMENTS.map((i) => `${i.exchange}:${i.symbol}`);
    const tooMany = Array.from({ length: 201 }, (_, i) => all[i % all.length]);
    const r = await gql(server, `mutation($s:[String!]){ createWatchlist(name:"big", symbols:$s){ id } }`, { s: tooMany }, u.token);
    expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'symbols', reason: 'WATCHLIST_FULL' });
    expect((await must<{ watchlists: unknown[] }>(server, `{ watchlists { id } }`, {}, u.token)).watchlists).toEqual([]);
    // The seed universe has fewer than 200 instruments: fill the list to 200 rows directly, then add through the API.
    const c = await must<{ createWatchlist: { id: string } }>(server, `mutation{ createWatchlist(name:"full"){ id } }`, {}, u.token);
    const { sql } = await import('drizzle-orm');
    const extra = Array.from({ length: 200 }, (_, i) => `ZZ${i}`);
    for (const s of extra) {
      await server.app.db.db.execute(sql`insert into instruments (symbol, exchange, currency, tick_size, reference_price) values (${s}, 'TEST', 'INR', '0.05', '100') on conflict do nothing`);
    }
    await server.app.db.db.execute(
      sql`insert into watchlist_items (watchlist_id, instrument_id) select ${c.createWatchlist.id}::uuid, id from instruments where exchange = 'TEST' and symbol like 'ZZ%' order by symbol limit 200`,
    );
    const full = await gql(server, `mutation($w:ID!){ addToWatchlist(watchlistId:$w, symbol:"RELIANCE"){ id } }`, { w: c.createWatchlist.id }, u.token);
    expect(full.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'symbol', reason: 'WATCHLIST_FULL' });
    const count = await must<{ watchlist: { items: unknown[] } }>(server, `query($w:ID!){ watchlist(id:$w){ items { note } } }`, { w: c.createWatchlist.id }, u.token);
    expect(count.watchlist.items).toHaveLength(200);
  });

  it('holds at most 50 watchlists per user; the 51st is TOO_MANY_WATCHLISTS (a reason the README lists) and nothing is written', async () => {
    const u = await newUser(server);
    for (let i = 0; i < 50; i++) await must(server, `mutation($n:String!){ createWatchlist(name:$n){ id } }`, { n: `L${i}` }, u.token);
    const r = await gql(server, `mutation{ createWatchlist(name:"L50"){ id } }`, {}, u.token);
    expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'name', reason: 'TOO_MANY_WATCHLISTS' });
    expect((await must<{ watchlists: unknown[] }>(server, `{ watchlists { id } }`, {}, u.token)).watchlists).toHaveLength(50);
    const { readFileSync } = await import('node:fs');
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Smallcases, basket runs, target portfolios and watchlists'));
    expect(section.slice(0, section.indexOf('\n## ', 1))).toContain('`TOO_MANY_WATCHLISTS`');
  });

  it('rejects bad input with field and reason, and hides another user’s watchlist as NOT_FOUND', async () => {
    const u = await newUser(server);
    const other = await newUser(server);
    for (const [q, field, reason] of [
      [`mutation{ createWatchlist(name:""){ id } }`, 'name', 'INVALID_NAME'],
      [`mutation{ createWatchlist(name:"x", symbols:["NOPE"]){ id } }`, 'symbols[0]', 'UNKNOWN_SYMBOL'],
    ] as const) {
      const r = await gql(server, q, {}, u.token);
      expect(r.errors?.[0]?.extensions, q).toMatchObject({ code: 'BAD_USER_INPUT', field, reason });
    }
    const c = await must<{ createWatchlist: { id: string } }>(server, `mutation{ createWatchlist(name:"mine"){ id } }`, {}, u.token);
    const dup = await gql(server, `mutation{ createWatchlist(name:"mine"){ id } }`, {}, u.token);
    expect(dup.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'name', reason: 'NAME_TAKEN' });
    const w = c.createWatchlist.id;
    for (const q of [
      `query($w:ID!){ watchlist(id:$w){ id } }`,
      `mutation($w:ID!){ addToWatchlist(watchlistId:$w, symbol:"ITC"){ id } }`,
      `mutation($w:ID!){ renameWatchlist(id:$w, name:"stolen"){ id } }`,
      `mutation($w:ID!){ deleteWatchlist(id:$w) }`,
    ]) {
      expect(errorCode(await gql(server, q, { w }, other.token)), q).toBe('NOT_FOUND');
    }
    const ws = wsClient(server, other.token);
    const sub = collect(ws, `subscription($w:ID!){ watchlistQuotes(watchlistId:$w){ symbol } }`, { w });
    await waitFor('the subscription to be refused', () => sub.errors.length > 0 || sub.isDone());
    expect(JSON.stringify(sub.errors)).toContain('NOT_FOUND');
    await ws.dispose();
  });

  it('watchlistQuotes pushes every quote of the list’s instruments from the quote stream, and only theirs', async () => {
    const u = await newUser(server);
    const c = await must<{ createWatchlist: { id: string } }>(server, `mutation{ createWatchlist(name:"live", symbols:["RELIANCE","NASDAQ:AAPL"]){ id } }`, {}, u.token);
    const ws = wsClient(server, u.token);
    const sub = collect<{ watchlistQuotes: { symbol: string; last: string } }>(ws, `subscription($w:ID!){ watchlistQuotes(watchlistId:$w){ symbol exchange last timestamp } }`, { w: c.createWatchlist.id });
    await waitFor('ticks of both instruments', () => {
      const seen = sub.items.map((i) => i.watchlistQuotes.symbol);
      return seen.filter((s) => s === 'RELIANCE').length >= 3 && seen.includes('AAPL');
    }, 15_000);
    expect(new Set(sub.items.map((i) => i.watchlistQuotes.symbol))).toEqual(new Set(['RELIANCE', 'AAPL']));
    sub.dispose();
    await ws.dispose();
  });
});
