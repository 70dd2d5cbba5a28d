import path from 'node:path';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const here = path.dirname(fileURLToPath(import.meta.url));

/*
 * The web UI's build: web/src -> web/dist (gitignored), served by `sextant server` at /.
 * The typed client (src/client) also serves the CLI, so a few of its methods touch Node's streams and
 * files; the UI never calls those, and node:* resolves to a stub that says so if one ever is.
 */
export default defineConfig({
  root: here,
  base: '/',
  plugins: [react()],
  resolve: {
    alias: [{ find: /^node:.*$/, replacement: path.join(here, 'src/node-stub.ts') }],
  },
  build: {
    outDir: path.join(here, 'dist'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 600,
    rolldownOptions: { checks: { pluginTimings: false } },
  },
});
