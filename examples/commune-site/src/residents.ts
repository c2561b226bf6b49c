// The commune's own table of the residents it knows, and the cursor of the deleted-accounts
// API. Kept in one JSON file so that the example runs with no database at all; a commune with a
// database writes the same five methods over its own table (see README).
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** What the commune keeps: the least it needs to recognise a resident and write to them. */
export interface Resident {
  /** The identifier GLC gave this site (pairwise: other services receive another one). */
  sub: string;
  givenName: string | null;
  familyName: string | null;
  email: string | null;
  firstLoginAt: string;
  lastLoginAt: string;
}

export interface ResidentStore {
  recordLogin(resident: Omit<Resident, 'firstLoginAt' | 'lastLoginAt'>, now: Date): Promise<Resident>;
  find(sub: string): Promise<Resident | undefined>;
  list(): Promise<Resident[]>;
  /** Deleting an unknown resident is not an error: the deleted-accounts API may repeat itself. */
  remove(sub: string): Promise<boolean>;
  deletedAccountsCursor(): Promise<string | null>;
  saveDeletedAccountsCursor(cursor: string): Promise<void>;
}

interface FileContent {
  residents: Record<string, Resident>;
  deletedAccountsCursor: string | null;
}

export class JsonFileResidentStore implements ResidentStore {
  // Every read and write goes through this chain: a login and the poller never interleave.
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly file: string) {}

  private run<T>(work: (content: FileContent) => T | Promise<T>, write: boolean): Promise<T> {
    const next = this.queue.then(async () => {
      const content = await this.load();
      const result = await work(content);
      if (write) await this.save(content);
      return result;
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async load(): Promise<FileContent> {
    try {
      return JSON.parse(await readFile(this.file, 'utf8')) as FileContent;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { residents: {}, deletedAccountsCursor: null };
      throw err;
    }
  }

  /** Written aside then renamed: a crash never leaves half a file. Readable by its owner only. */
  private async save(content: FileContent): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true });
    const temporary = `${this.file}.${process.pid}.tmp`;
    await writeFile(temporary, JSON.stringify(content, null, 2), { mode: 0o600 });
    await rename(temporary, this.file);
  }

  recordLogin(resident: Omit<Resident, 'firstLoginAt' | 'lastLoginAt'>, now: Date): Promise<Resident> {
    return this.run((content) => {
      const known = content.residents[resident.sub];
      const saved = { ...resident, firstLoginAt: known?.firstLoginAt ?? now.toISOString(), lastLoginAt: now.toISOString() };
      content.residents[resident.sub] = saved;
      return saved;
    }, true);
  }

  find(sub: string): Promise<Resident | undefined> {
    return this.run((content) => content.residents[sub], false);
  }

  list(): Promise<Resident[]> {
    return this.run((content) => Object.values(content.residents).sort((a, b) => b.lastLoginAt.localeCompare(a.lastLoginAt)), false);
  }

  remove(sub: string): Promise<boolean> {
    return this.run((content) => {
      const known = sub in content.residents;
      delete content.residents[sub];
      return known;
    }, true);
  }

  deletedAccountsCursor(): Promise<string | null> {
    return this.run((content) => content.deletedAccountsCursor, false);
  }

  saveDeletedAccountsCursor(cursor: string): Promise<void> {
    return this.run((content) => {
      content.deletedAccountsCursor = cursor;
    }, true);
  }
}
