// Start-up and idle memory of `npm start` with an empty environment (the embedded database):
// time to the first discovery answer, RSS/PSS of GLC and of its PostgreSQL server after 15 s idle,
// cold (first initialisation) then twice warm. Usage: node bench/embedded-start.mjs [checkout] [port]
// (docs/exploitation.md, « Base embarquée », has the figures).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, chmodSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
const root = path.resolve(process.argv[2] ?? '.');
const port = Number(process.argv[3] ?? 3999);
const cwd = mkdtempSync(path.join(os.tmpdir(), 'glc-measure-'));
chmodSync(cwd, 0o755);
const rss = (pid) => {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
  } catch {
    return 0;
  }
};
const pss = (pid) => {
  try {
    return Number(/Pss:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))[1]) / 1024;
  } catch {
    return 0;
  }
};
function postgresRss() {
  const all = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  const ppid = (p) => {
    try {
      const s = readFileSync(`/proc/${p}/stat`, 'utf8');
      return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]);
    } catch {
      return 0;
    }
  };
  const master = all.find((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(cwd);
    } catch {
      return false;
    }
  });
  if (!master) return { rss: 0, pss: 0, n: 0 };
  const procs = [master, ...all.filter((p) => String(ppid(p)) === master)];
  return {
    rss: Math.round(procs.reduce((a, p) => a + rss(p), 0)),
    pss: Math.round(procs.reduce((a, p) => a + pss(p), 0)),
    n: procs.length,
  };
}
async function run(label) {
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    ['--import', pathToFileURL(path.join(root, 'node_modules/tsx/dist/loader.mjs')).href, path.join(root, 'src/main.ts')],
    { cwd, env: { PATH: process.env.PATH, PORT: String(port) }, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  for (;;) {
    try {
      const r = await fetch(`http://localhost:${port}/.well-known/openid-configuration`);
      if (r.ok) break;
    } catch {}
    await new Promise((r) => setTimeout(r, 50));
  }
  const ready = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 15000));
  const out = {
    label,
    readyMs: Math.round(ready),
    glcRssMB: Math.round(rss(child.pid)),
    postgres: postgresRss(),
    glcPssMB: Math.round(pss(child.pid)),
  };
  const t1 = performance.now();
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const code = await exited;
  out.stopMs = Math.round(performance.now() - t1);
  out.exit = code;
  console.log(JSON.stringify(out));
}
await run('cold');
await run('warm');
await run('warm2');
rmSync(cwd, { recursive: true, force: true });
