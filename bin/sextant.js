#!/usr/bin/env node
// Runs the CLI from its bundle, dist/bin/sextant.js (starts in a fraction of a second). `npm ci` /
// `npm install` build it (the `prepare` script runs bin/build.js); when src/ has changed since, it is
// rebuilt here first (about a second, once). Without esbuild the sources run through tsx (slower).
import { buildDist, isFresh } from './build.js';

if (isFresh() || (await buildDist())) {
  await import(new URL('../dist/bin/sextant.js', import.meta.url).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../src/cli/main.ts', import.meta.url).href);
}
