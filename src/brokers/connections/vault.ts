import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * Seals broker secrets (API secrets, access and refresh tokens) with AES-256-GCM. A sealed value names
 * the key that sealed it (`keyId`, a hash of the key, never the key), so after a key change the old key
 * stays readable (ENCRYPTION_KEY_PREVIOUS) until `rotate-key` has re-sealed everything under the new one.
 * The associated data binds a sealed value to its row: copied onto another connection it does not open.
 */
export class Vault {
  private readonly keys = new Map<string, Buffer>();
  readonly keyId: string;

  constructor(current: Buffer, previous: Buffer[] = []) {
    for (const k of [current, ...previous]) {
      if (k.length !== 32) throw new Error('an encryption key must be 32 bytes');
      this.keys.set(Vault.idOf(k), k);
    }
    this.keyId = Vault.idOf(current);
  }

  /** A short, stable, non-secret name for a key. */
  static idOf(key: Buffer): string {
    return createHash('sha256').update('tradegraph-key-id:').update(key).digest('hex').slice(0, 12);
  }

  seal(value: unknown, aad: string): string {
    const key = this.keys.get(this.keyId)!;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const ct = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
    const b = (x: Buffer) => x.toString('base64url');
    return ['v1', this.keyId, b(iv), b(cipher.getAuthTag()), b(ct)].join('.');
  }

  open<T>(sealed: string, aad: string): T {
    const [version, keyId, iv, tag, ct] = sealed.split('.');
    if (version !== 'v1' || !keyId || !iv || !tag || ct === undefined) throw new VaultError('not a sealed value');
    const key = this.keys.get(keyId);
    if (!key) throw new VaultError(`sealed under key ${keyId}, which is not configured`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(aad, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      const pt = Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]);
      return JSON.parse(pt.toString('utf8')) as T;
    } catch {
      throw new VaultError('sealed value failed authentication');
    }
  }

  /** The key id a sealed value names. */
  static keyIdOf(sealed: string): string | undefined {
    return sealed.split('.')[1];
  }
}

/** A sealed value that cannot be opened. Its message never contains any part of the secret. */
export class VaultError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VaultError';
  }
}
