import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { createServices, type Services } from '../../src/app/index.js';
import { createBlobStore } from '../../src/blobs/index.js';
import { systemClock } from '../../src/core/clock.js';
import { type Config, loadConfig } from '../../src/core/config.js';
import { buildApp } from '../../src/server/app.js';
import type { Store } from '../../src/store/index.js';

export interface TestApp {
  app: FastifyInstance;
  services: Services;
  config: Config;
  close(): Promise<void>;
}

/** The whole HTTP app over a given store, a temp blob folder and the given environment. */
export async function createTestApp(store: Store, env: Record<string, string> = {}): Promise<TestApp> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-app-'));
  const config = loadConfig({ SEXTANT_HOME: home, ...env });
  const blobs = createBlobStore(`file:${path.join(home, 'blobs')}`);
  const services = createServices({
    store,
    blobs,
    clock: systemClock,
    config,
    auditKey: 'test-audit-key-0123456789',
  });
  const app = await buildApp(services);
  await app.ready();
  return {
    app,
    services,
    config,
    close: async () => {
      await app.close();
      await blobs.close();
      fs.rmSync(home, { recursive: true, force: true });
    },
  };
}
