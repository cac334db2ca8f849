import { randomBytes } from 'node:crypto';
import { generateSecretKeyEntry, parseSecretKeys, SecretBox } from '../src';

const key = (id: string) => ({ id, key: randomBytes(32) });

describe('SecretBox', () => {
  it('when a secret is sealed, then only the box opens it, and the ciphertext names the key', () => {
    const box = new SecretBox(key('k1'));
    const sealed = box.seal('tenant db password');
    expect(sealed).toMatch(/^v1:k1:/);
    expect(sealed).not.toContain('tenant db password');
    expect(box.open(sealed)).toBe('tenant db password');
    expect(box.seal('same')).not.toBe(box.seal('same'));
  });

  it('when keys rotate, then old secrets still open and new ones use the new key', () => {
    const old = key('k1');
    const sealedBefore = new SecretBox(old).seal('s');
    const rotated = new SecretBox(key('k2'), [old]);
    expect(rotated.open(sealedBefore)).toBe('s');
    expect(rotated.seal('s')).toMatch(/^v1:k2:/);
  });

  it('when a ciphertext is tampered with or its key is unknown, then opening fails', () => {
    const box = new SecretBox(key('k1'));
    const parts = box.seal('secret').split(':');
    parts[4] = Buffer.from('forged').toString('base64url');
    expect(() => box.open(parts.join(':'))).toThrow();
    expect(() => new SecretBox(key('k9')).open(box.seal('x'))).toThrow(/unknown key k1/);
    expect(() => box.open('not sealed')).toThrow(/Not a sealed secret/);
  });

  it('when SECRETS_KEYS entries are parsed, then ids and 32-byte keys come back; malformed ones are refused', () => {
    const [parsed] = parseSecretKeys(generateSecretKeyEntry('main'));
    expect(parsed!.id).toBe('main');
    expect(parsed!.key).toHaveLength(32);
    expect(() => parseSecretKeys('no-separator')).toThrow();
    expect(() => new SecretBox({ id: 'short', key: randomBytes(16) })).toThrow(/32 bytes/);
  });
});
