// Password hashing (argon2id, OWASP minimum: 19 MiB, t=2, p=1) and strength rules
// (CNIL deliberation 2022-100: ≥ 12 characters, refused when in a common-password list).
import { availableParallelism } from 'node:os';
import argon2 from 'argon2';
import pLimit from 'p-limit';

export const ARGON2_OPTIONS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;
export const MIN_PASSWORD_LENGTH = 12;
const MAX_PASSWORD_LENGTH = 256;

// The dictionaries cost ~40 MiB and over a second to load: only when a password is first
// checked (sign-up, change, reset), not at every start of every process.
let zxcvbn: Promise<{ check(password: string, userInputs: string[]): { score: number } }> | undefined;
function strengthChecker() {
  zxcvbn ??= (async () => {
    const [{ ZxcvbnFactory }, common, fr] = await Promise.all([
      import('@zxcvbn-ts/core'),
      import('@zxcvbn-ts/language-common'),
      import('@zxcvbn-ts/language-fr'),
    ]);
    return new ZxcvbnFactory({
      dictionary: { ...common.dictionary, ...fr.dictionary },
      graphs: common.adjacencyGraphs,
      translations: fr.translations,
    });
  })();
  return zxcvbn;
}

// One argon2 computation per core at a time: more would not hash faster (each is CPU-bound on its
// libuv thread) but would hold 19 MiB each and take the threads file and DNS work need. Under a
// burst of logins, the others wait their turn in this queue rather than in libuv's.
const hashingSlots = pLimit(Math.max(1, availableParallelism()));

/**
 * With one process per core (GLC_WORKERS), the cores are shared: each process hashes on its share
 * of them, so the machine still runs one computation per core, not one per core per process.
 * Called once by the composition root.
 */
export function shareHashingCores(processes: number): void {
  hashingSlots.concurrency = Math.max(1, Math.floor(availableParallelism() / Math.max(1, processes)));
}

export function hashPassword(password: string): Promise<string> {
  return hashingSlots(() => argon2.hash(password, ARGON2_OPTIONS));
}

export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  try {
    return await hashingSlots(() => argon2.verify(hash, password));
  } catch {
    return false;
  }
}

/** Password hashes being computed and waiting for a core (metrics, tests). */
export function hashingLoad(): { active: number; waiting: number } {
  return { active: hashingSlots.activeCount, waiting: hashingSlots.pendingCount };
}

// A fixed hash verified when the account does not exist, so response time does not reveal it.
let decoyHash: Promise<string> | undefined;
export async function verifyAgainstDecoy(password: string): Promise<false> {
  decoyHash ??= hashPassword('glc-decoy-password-never-valid');
  await verifyPassword(await decoyHash, password);
  return false;
}

/** A French message when the password is too weak, otherwise null. */
export async function passwordProblem(password: string, userInputs: string[] = []): Promise<string | null> {
  if (password.length < MIN_PASSWORD_LENGTH) return `Le mot de passe doit contenir au moins ${MIN_PASSWORD_LENGTH} caractères.`;
  if (password.length > MAX_PASSWORD_LENGTH) return `Le mot de passe doit contenir au plus ${MAX_PASSWORD_LENGTH} caractères.`;
  const result = (await strengthChecker()).check(password, userInputs);
  if (result.score < 3) {
    return 'Ce mot de passe est trop courant ou trop facile à deviner. Choisissez une phrase de plusieurs mots sans lien entre eux.';
  }
  return null;
}
