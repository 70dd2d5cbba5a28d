import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * A CommonJS package loaded on first use instead of at import time, so a process pays only for what
 * it touches: `sextant runs ls` never loads DuckDB, onnxruntime or the S3 SDK. Type positions keep
 * using `import type` from the package.
 * Example: `const duckdb = lazyRequire<typeof import('@duckdb/node-api')>('@duckdb/node-api');`
 */
export function lazyRequire<T>(name: string): () => T {
  let loaded: T | undefined;
  return () => {
    loaded ??= require(name) as T;
    return loaded;
  };
}
