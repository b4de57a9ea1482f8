import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

const base = { DATA_DIR: mkdtempSync(path.join(tmpdir(), 'tg-config-')) };

describe('session and retention configuration', () => {
  it('defaults: the market trades around the clock, no holidays, outbox kept a week', () => {
    const c = loadConfig(base);
    expect(c.sessions).toEqual({ mode: 'always', holidays: {} });
    expect(c.outboxRetentionHours).toBe(168);
  });

  it('loads a holiday list from MARKET_HOLIDAYS_FILE and follows sessions with MARKET_SESSIONS=exchange', () => {
    const file = path.join(base.DATA_DIR, 'holidays.json');
    writeFileSync(file, JSON.stringify({ NSE: ['2026-01-26'], NYSE: ['2026-01-19'] }));
    const c = loadConfig({ ...base, MARKET_SESSIONS: 'exchange', MARKET_HOLIDAYS_FILE: file, OUTBOX_RETENTION_HOURS: '24' });
    expect(c.sessions).toEqual({ mode: 'exchange', holidays: { NSE: ['2026-01-26'], NYSE: ['2026-01-19'] } });
    expect(c.outboxRetentionHours).toBe(24);
  });

  it('refuses a missing or malformed holiday file, and an unknown session mode, naming the variable', () => {
    const bad = path.join(base.DATA_DIR, 'bad.json');
    writeFileSync(bad, JSON.stringify({ NSE: ['26/01/2026'] }));
    expect(() => loadConfig({ ...base, MARKET_HOLIDAYS_FILE: bad })).toThrow(/MARKET_HOLIDAYS_FILE.*YYYY-MM-DD/);
    expect(() => loadConfig({ ...base, MARKET_HOLIDAYS_FILE: path.join(base.DATA_DIR, 'none.json') })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, MARKET_SESSIONS: 'sometimes' })).toThrow(/MARKET_SESSIONS/);
  });
});
