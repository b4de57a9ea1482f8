import { describe, expect, it } from 'vitest';
import { checkWebhookUrl, isPrivateAddress } from './url-guard.js';

describe('webhook target guard', () => {
  it.each(['127.0.0.1', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', 'fd00::1', 'fe80::1', '::ffff:127.0.0.1'])(
    'calls %s private',
    (ip) => expect(isPrivateAddress(ip)).toBe(true),
  );
  it.each(['8.8.8.8', '172.32.0.1', '1.1.1.1', '2606:4700::1111'])('calls %s public', (ip) => expect(isPrivateAddress(ip)).toBe(false));

  it('refuses loopback and metadata targets unless private targets are allowed', async () => {
    await expect(checkWebhookUrl('http://127.0.0.1:9/hook', false)).rejects.toThrow(/private/);
    await expect(checkWebhookUrl('http://[::1]:9/hook', false)).rejects.toThrow(/private/);
    await expect(checkWebhookUrl('http://169.254.169.254/latest', false)).rejects.toThrow(/private/);
    await expect(checkWebhookUrl('http://localhost:9/hook', false)).rejects.toThrow(/private/);
    await expect(checkWebhookUrl('http://127.0.0.1:9/hook', true)).resolves.toBeInstanceOf(URL);
  });

  it('refuses other schemes and URLs with credentials', async () => {
    await expect(checkWebhookUrl('ftp://example.com/x', true)).rejects.toThrow(/http/);
    await expect(checkWebhookUrl('http://u:p@example.com/x', true)).rejects.toThrow(/credentials/);
    await expect(checkWebhookUrl('not a url', true)).rejects.toThrow(/valid/);
  });
});
