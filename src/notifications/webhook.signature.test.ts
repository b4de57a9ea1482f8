import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signatureHeader, verifySignature } from './webhook.signature.js';

describe('webhook signature', () => {
  const body = '{"id":"e1","type":"order.filled","createdAt":"2026-01-05T09:15:00.000Z","data":{}}';
  it('is t=<seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>', () => {
    const expected = createHmac('sha256', 'whsec_x').update(`1767604500.${body}`).digest('hex');
    expect(signatureHeader('whsec_x', 1767604500, body)).toBe(`t=1767604500,v1=${expected}`);
  });
  it('verifies the right body and refuses a changed body, another secret or an old timestamp', () => {
    const h = signatureHeader('whsec_x', 1000, body);
    expect(verifySignature('whsec_x', h, body, 1010)).toBe(true);
    expect(verifySignature('whsec_x', h, body.replace('e1', 'e2'), 1010)).toBe(false);
    expect(verifySignature('whsec_y', h, body, 1010)).toBe(false);
    expect(verifySignature('whsec_x', h, body, 2000)).toBe(false);
  });
});
