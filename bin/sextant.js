#!/usr/bin/env -S node --max-semi-space-size=64
// Runs the CLI from its bundle, dist/bin/sextant.js (starts in a fraction of a second). `npm ci` /
// `npm install` build it (the `prepare` script runs bin/build.js); when src/ has changed since, it is
// rebuilt here first (about a second, once). Without esbuild the sources run through tsx (slower).
//
// The flag on the first line lets V8's young generation grow to 64 MB semi-spaces (Node 20's default
// stops at 16 MB). A server keeps each request's objects alive while its predictions reach the disk;
// with small semi-spaces they outlive a scavenge, get promoted, and feed a full collection every few
// hundred milliseconds (40 of them in an 8-second run of bench/serving.bench.ts, against 7-12 with the
// flag; linear batches of 32: p99 2.1x -> 1.0x the bare server's). It sets a ceiling, not a size: a
// short command's heap stays as small as before. Started as `node bin/sextant.js`, give it yourself.
import { buildDist, isFresh } from './build.js';

if (isFresh() || (await buildDist())) {
  await import(new URL('../dist/bin/sextant.js', import.meta.url).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../src/cli/main.ts', import.meta.url).href);
}
