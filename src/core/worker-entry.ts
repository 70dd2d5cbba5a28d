import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * How to start a worker module that sits next to the caller, e.g.
 * `new Worker(workerEntry(import.meta.url, 'sweep-worker'))`. Built code (.js) loads the module
 * directly; run from the TypeScript sources (tsx, vitest) the worker first registers tsx's loader in
 * its own thread, since a worker thread does not inherit the loader hooks of its parent.
 */
export function workerEntry(callerUrl: string, moduleName: string): URL {
  const here = fileURLToPath(callerUrl);
  const ext = path.extname(here);
  const url = pathToFileURL(path.join(path.dirname(here), `${moduleName}${ext}`));
  if (ext !== '.ts') return url;
  const tsxRoot = path.dirname(createRequire(callerUrl).resolve('tsx/package.json'));
  const api = pathToFileURL(path.join(tsxRoot, 'dist/esm/api/index.mjs')).href;
  const code = `import { register } from ${JSON.stringify(api)}; register(); await import(${JSON.stringify(url.href)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(code)}`);
}
