import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';

describe('logger redaction of broker secrets', () => {
  it('never writes API secrets, tokens, TOTPs or auth headers, at any of three levels', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const log = createLogger('info', 'test', sink);
    log.info({ apiSecret: 'S1-secret', accessToken: 'T1-token', connectionId: 'c1' }, 'top');
    log.info({ credentials: { apiKey: 'k', apiSecret: 'S2-secret' } }, 'nested credentials');
    log.info({ req: { headers: { authorization: 'token k:T2-token' } }, app: { pin: '1234', totp: '654321', refresh_token: 'R1-token' } }, 'deep');
    const out = lines.join('');
    for (const secret of ['S1-secret', 'T1-token', 'S2-secret', 'T2-token', '654321', 'R1-token', '"1234"']) expect(out).not.toContain(secret);
    expect(out).toContain('[redacted]');
    expect(out).toContain('"connectionId":"c1"');
  });
});
