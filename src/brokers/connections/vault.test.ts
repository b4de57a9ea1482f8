import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Vault, VaultError } from './vault.js';

describe('Vault (AES-256-GCM broker secrets)', () => {
  const k1 = randomBytes(32);
  const k2 = randomBytes(32);

  it('opens what it sealed, and the sealed text contains no part of the secret', () => {
    const v = new Vault(k1);
    const sealed = v.seal({ apiSecret: 'very-secret-value-123' }, 'conn-1');
    expect(sealed).not.toContain('very-secret');
    expect(sealed.startsWith(`v1.${v.keyId}.`)).toBe(true);
    expect(v.open(sealed, 'conn-1')).toEqual({ apiSecret: 'very-secret-value-123' });
  });

  it('refuses a value moved to another row (associated data) and a tampered one', () => {
    const v = new Vault(k1);
    const sealed = v.seal({ t: 'x' }, 'conn-1');
    expect(() => v.open(sealed, 'conn-2')).toThrow(VaultError);
    const parts = sealed.split('.');
    parts[4] = Buffer.from('garbage').toString('base64url');
    expect(() => v.open(parts.join('.'), 'conn-1')).toThrow(VaultError);
  });

  it('after a key change reads old values through the previous key and seals new ones under the new key', () => {
    const old = new Vault(k1);
    const sealed = old.seal({ t: 'old' }, 'c');
    const rotated = new Vault(k2, [k1]);
    expect(rotated.open(sealed, 'c')).toEqual({ t: 'old' });
    expect(Vault.keyIdOf(rotated.seal({ t: 'new' }, 'c'))).toBe(Vault.idOf(k2));
    expect(() => new Vault(k2).open(sealed, 'c')).toThrow(/not configured/);
  });
});
