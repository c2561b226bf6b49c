// What every `glc` command shares: opening the composition root around a command, output as
// text or JSON, and the usage error (exit code 2). Domains add their commands with these.
import { type Command, Option } from 'commander';
import { loadConfig } from '../config.js';
import { openDatabase, type Db } from '../db/database.js';
import { migrateToLatest } from '../db/migrate.js';
import { createLogger } from '../log.js';
import { createServices, type Services } from '../services.js';

/** Wrong arguments: printed with the usage, exit code 2. */
export class UsageError extends Error {}

export type Out = (human: string, json: unknown) => void;
export type WithServices = <T>(fn: (s: Services) => Promise<T>) => Promise<T>;

/** Domains add their own commands (consent verify, purge-inactive…) with these helpers. */
export interface CliHelpers {
  withServices: WithServices;
  out: (cmd: Command) => Out;
  jsonOption: () => Option;
}

/**
 * Opens what a command needs — the same composition root as the server — runs it, and closes the
 * database whatever happens. Given the services of a running instance (tests), uses them.
 */
export function servicesOpener(running?: Services): WithServices {
  return async (fn) => {
    if (running) return fn(running);
    const config = loadConfig(process.env);
    const db = await openDatabase(config);
    try {
      await migrateToLatest(db);
      const services = await createServices(config, db, createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel));
      try {
        return await fn(services);
      } finally {
        await services.outbox.stop(); // mail queued by the command is sent by the running instances
      }
    } finally {
      await db.destroy();
    }
  };
}

/** The database alone (migrations must not need the services that depend on them). */
export async function withDb<T>(fn: (db: Db) => Promise<T>, running?: Services): Promise<T> {
  if (running) return fn(running.db);
  const config = loadConfig(process.env);
  const db = await openDatabase(config);
  try {
    return await fn(db);
  } finally {
    await db.destroy();
  }
}

export const jsonOption = (): Option => new Option('--json', 'machine-readable output');

/** Prints the human text, or the JSON value with --json. */
export function outputTo(write: (text: string) => void): (cmd: Command) => Out {
  return (cmd) => (human, json) => {
    const wantsJson = cmd.optsWithGlobals().json === true;
    write(wantsJson ? `${JSON.stringify(json, null, 2)}\n` : `${human}\n`);
  };
}

export function splitList(value: string | undefined): string[] | undefined {
  return value === undefined ? undefined : value.split(/[\s,]+/).filter(Boolean);
}

/** Commander's collector of a repeatable option. */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];
