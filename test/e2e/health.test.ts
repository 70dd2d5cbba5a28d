import { expect, it } from 'vitest';
import { openStore } from '../../src/store/index.js';
import { createTestApp } from '../support/app.js';
import { describeEachBackend } from '../support/backends.js';

describeEachBackend('health and the API document', (getStore, backend) => {
  it('readyz says which database answers, and 503 once it no longer does', async () => {
    // Its own store, so closing it cannot disturb the suite's.
    const store = await openStore(getStore().url);
    const t = await createTestApp(store);
    try {
      const ready = await t.app.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(200);
      expect(ready.json()).toEqual({ status: 'ready', database: backend, blobs: 'file' });
      await store.close();
      const down = await t.app.inject({ method: 'GET', url: '/readyz' });
      expect(down.statusCode).toBe(503);
      expect(down.json()).toMatchObject({ error: { code: 'UNAVAILABLE' } });
    } finally {
      await t.close();
    }
  });

  it('the OpenAPI document lists the native and MLflow routes with their schemas', async () => {
    const t = await createTestApp(getStore());
    try {
      const doc = (await t.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json() as {
        openapi: string;
        paths: Record<string, Record<string, { requestBody?: unknown; summary?: string }>>;
      };
      expect(doc.openapi).toMatch(/^3\./);
      expect(doc.paths['/api/v1/runs/{id}/batch']?.post?.requestBody).toBeDefined();
      expect(doc.paths['/api/2.0/mlflow/runs/log-batch']?.post?.summary).toContain('MLflow');
      expect(Object.keys(doc.paths).length).toBeGreaterThan(40);
    } finally {
      await t.close();
    }
  });
});
