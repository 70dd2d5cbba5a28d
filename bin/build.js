#!/usr/bin/env node
// Builds the CLI into dist/bin/ with esbuild: one bundle with code splitting (each command's module
// and the heavy domains are chunks loaded on demand), so starting costs a few files instead of ~700.
// Native and I/O-heavy packages stay in node_modules and load only when used. About a second.
// Run by `npm ci` / `npm install` (the `prepare` script) and by bin/sextant.js when src/ is newer.
// Type checking stays with `npm run typecheck`.
import {
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const src = path.join(root, 'src');
/** Where the bundle goes; entry files and chunks share the folder (worker entries are found beside the caller). */
export const outDir = path.join(root, 'dist', 'bin');
/** Written last, with the build's start time: compared with the sources' mtimes by bin/sextant.js. */
const stampPath = path.join(outDir, '.built');

// Pure-JavaScript packages bundled in (kysely alone is ~150 files); everything else stays external.
// fastify-type-provider-zod is bundled so that it shares the bundle's copy of zod.
const BUNDLED = new Set(['commander', 'kysely', 'zod', 'yaml', 'fastify-type-provider-zod']);

const DAY_MS = 24 * 3600 * 1000;

const isSource = (f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('.contract.ts');

/**
 * Newest modification time (ms) of the TypeScript sources under src/. Every command pays for this
 * walk, so it reads each folder once with its entry types and stats only the sources: a few ms,
 * where `readdirSync(src, { recursive: true })` plus a stat per entry cost 25-40 ms.
 */
function newestSource(dir = src) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(full));
    else if (isSource(e.name)) newest = Math.max(newest, statSync(full).mtimeMs);
  }
  return newest;
}

/*
 * zod's namespace object (`import { z } from 'zod'`) re-exports `locales`: error messages in some 50
 * languages, about 300 KB that every command would parse. Sextant never calls z.locales (zod imports
 * its English messages directly), so the bundle gets an empty module in its place.
 */
const dropZodLocales = {
  name: 'drop-zod-locales',
  setup(build) {
    build.onResolve({ filter: /\/locales\/index\.js$/ }, (args) =>
      /[\\/]node_modules[\\/]zod[\\/]/.test(args.importer)
        ? { path: 'zod-locales', namespace: 'empty' }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'empty' }, () => ({ contents: 'export {};', loader: 'js' }));
  },
};

/** Whether dist/bin/ holds a build at least as new as every source file (true without sources). */
export function isFresh() {
  try {
    const built = statSync(stampPath).mtimeMs;
    try {
      statSync(src);
    } catch {
      return true;
    }
    return built >= newestSource();
  } catch {
    return false;
  }
}

/** Builds dist/bin/ from src/; returns false (building nothing) when esbuild is not installed. */
export async function buildDist() {
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch {
    return false;
  }
  const started = new Date();
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  const external = Object.keys(pkg.dependencies ?? {})
    .filter((d) => !BUNDLED.has(d))
    .flatMap((d) => [d, `${d}/*`]);
  // A private folder per build, moved into place file by file (a rename is atomic), entries last:
  // a CLI starting meanwhile sees either the old files or the new ones, never a half-written one.
  const tmp = path.join(root, 'dist', `.bin-${process.pid}-${Date.now()}`);
  try {
    const result = await esbuild.build({
      entryPoints: {
        sextant: path.join(src, 'cli/main.ts'),
        // Worker modules, started by path from the chunk that needs them (core/worker-entry.ts).
        'sweep-worker': path.join(src, 'ml/sweep-worker.ts'),
        'ledger-worker.repo': path.join(src, 'serving/ledger/ledger-worker.repo.ts'),
        'gbdt-histogram-worker': path.join(src, 'ml/trainers/gbdt-histogram-worker.ts'),
        'segment-seal-worker': path.join(src, 'serving/ledger/segment-seal-worker.ts'),
      },
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      outdir: tmp,
      chunkNames: 'chunk-[hash]',
      external,
      metafile: true,
      // Less to parse at every start (V8 reads the whole chunk); identifiers stay readable in traces.
      minifyWhitespace: true,
      minifySyntax: true,
      legalComments: 'none',
      // Bundled CommonJS (commander) calls require() for Node's own modules.
      banner: {
        js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
      },
      plugins: [dropZodLocales],
      logLevel: 'warning',
    });
    const outputs = Object.keys(result.metafile.outputs).map((o) => path.basename(o));
    const entries = new Set([
      'sextant.js',
      'sweep-worker.js',
      'ledger-worker.repo.js',
      'gbdt-histogram-worker.js',
      'segment-seal-worker.js',
    ]);
    const ordered = [...outputs.filter((o) => !entries.has(o)), ...outputs.filter((o) => entries.has(o))];
    mkdirSync(outDir, { recursive: true });
    for (const f of ordered) renameSync(path.join(tmp, f), path.join(outDir, f));
    // Chunks of earlier builds go once a day old: a long-running `sextant serve` started before a
    // rebuild may still import one of its own chunks lazily.
    const current = new Set(outputs);
    for (const f of readdirSync(outDir))
      if (
        f.startsWith('chunk-') &&
        !current.has(f) &&
        started.getTime() - statSync(path.join(outDir, f)).mtimeMs > DAY_MS
      )
        rmSync(path.join(outDir, f), { force: true });
    writeFileSync(stampPath, '');
    utimesSync(stampPath, started, started);
    return true;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const t = Date.now();
  if (await buildDist())
    console.log(`sextant: built ${path.relative(root, outDir)}/ from src/ in ${Date.now() - t} ms`);
  else console.log('sextant: esbuild is not installed; bin/sextant.js runs src/ through tsx instead');
}
