import { describe, expect, it } from 'vitest';
import { hashPassword, passwordProblem, verifyPassword } from '../src/accounts/passwords.js';

describe('passwords', () => {
  it('hashes with argon2id at OWASP parameters and verifies', async () => {
    const hash = await hashPassword('une phrase de passe assez longue');
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await verifyPassword(hash, 'une phrase de passe assez longue')).toBe(true);
    expect(await verifyPassword(hash, 'une autre phrase de passe')).toBe(false);
    expect(await verifyPassword('not a hash', 'x')).toBe(false);
  });

  it.each(['court', 'motdepasse123', 'azertyuiop123', 'soleil123456', 'marseille2024'])(
    'refuses the weak or common password %s',
    async (pw) => {
      expect(await passwordProblem(pw)).not.toBeNull();
    },
  );

  it('accepts a long passphrase', async () => {
    expect(await passwordProblem('girafe tram fourvière 1789 croissant')).toBeNull();
  });
});
