// GLC's master secret (SECRETS_KEY) and what is derived from it: the key that encrypts
// signing keys and client secrets at rest, cookie-signing keys and the pairwise salt.
// Outside production a key is generated once into DATA_DIR so restarts keep sessions valid.
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from './config.js';
import { cookieSigner, type CookieSigner } from './http/cookie-signing.js';

export interface Secrets {
  encrypt(plaintext: string): string;
  decrypt(ciphertext: string): string;
  /** Signs and checks GLC's cookies, for Koa and the provider (http/cookie-signing.ts). */
  cookieKeys: CookieSigner;
  /** Keyed hash for pairwise subjects, token hashes and pseudonyms: stable, not reversible. */
  hmac(purpose: string, value: string): string;
}

function masterKeyFrom(text: string): Buffer {
  return /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64url');
}

export function loadMasterKey(config: Pick<Config, 'secretsKey' | 'dataDir' | 'production'>): Buffer {
  if (config.secretsKey) return masterKeyFrom(config.secretsKey);
  if (config.production) throw new Error('SECRETS_KEY is required in production');
  const file = path.resolve(config.dataDir, 'secrets.key');
  if (!existsSync(file)) {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600, flag: 'wx' });
  }
  return masterKeyFrom(readFileSync(file, 'utf8').trim());
}

function derive(master: Buffer, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), `glc:${purpose}`, 32));
}

export function createSecrets(master: Buffer): Secrets {
  const encryptionKey = derive(master, 'encryption-at-rest');
  // One HKDF per purpose, not per call: the purge hashes millions of values (throttle keys, pseudonyms).
  const hmacKeys = new Map<string, Buffer>();
  const hmacKey = (purpose: string) => {
    let key = hmacKeys.get(purpose);
    if (!key) hmacKeys.set(purpose, (key = derive(master, `hmac:${purpose}`)));
    return key;
  };
  return {
    // AES-256-GCM; the stored form is v1.<iv>.<tag>.<ciphertext> in base64url.
    encrypt(plaintext) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', encryptionKey, iv);
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return ['v1', iv, cipher.getAuthTag(), body].map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join('.');
    },
    decrypt(ciphertext) {
      const [version, iv, tag, body] = ciphertext.split('.');
      if (version !== 'v1' || !iv || !tag || body === undefined) throw new Error('unknown encrypted value format');
      const decipher = createDecipheriv('aes-256-gcm', encryptionKey, Buffer.from(iv, 'base64url'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
    },
    cookieKeys: cookieSigner([derive(master, 'cookies').toString('base64url')]),
    hmac(purpose, value) {
      return createHmac('sha256', hmacKey(purpose)).update(value).digest('hex');
    },
  };
}

export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}
